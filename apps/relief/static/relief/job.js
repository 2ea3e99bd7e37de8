// Polls a background job and shows its progress; stops when it is finished or failed.
(function () {
  const box = document.getElementById("job");
  if (!box) return;
  const url = box.dataset.statusUrl;
  async function poll() {
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      const job = await response.json();
      document.getElementById("job-progress").value = job.percent;
      document.getElementById("job-state").textContent = job.status;
      document.getElementById("job-count").textContent = job.done + " / " + job.total;
      document.getElementById("job-message").textContent = job.message || "";
      if (job.status === "finished" || job.status === "failed") {
        const result = document.getElementById("job-result");
        if (job.result && job.result.download) {
          const link = document.createElement("a");
          link.href = job.result.download;
          link.textContent = job.result.download_label || "Download";
          link.className = "button";
          result.appendChild(link);
        } else if (job.result && job.result.next) {
          window.location = job.result.next;
        }
        return;
      }
    } catch (e) { /* network hiccup: try again */ }
    setTimeout(poll, 700);
  }
  poll();
})();
