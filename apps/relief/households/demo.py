"""Demo registry: households of Burundian and Congolese refugees in Nyarugusu, Nduta and Mtendeli.

The households are written as a KoboToolbox export and imported through the real importer, so the
demo also leaves two files to try the upload page with: the full export (re-importing it changes
nothing) and a small batch of new arrivals with a few mistakes for the validation report. About
one household in fifty is registered twice with small differences, for the duplicate review.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from pathlib import Path

from relief.households import duplicates
from relief.households.importer import Mapping, files_dir, run_import

CAMP_WEIGHTS = [("NYA", 0.5), ("NDU", 0.35), ("MTE", 0.15)]
BLOCKS = [f"B{n:02d}" for n in range(1, 13)]
# Household sizes 1..12; the weights give a mean of about 4.5 (field figure: 4.3).
SIZE_WEIGHTS = [9, 12, 16, 17, 15, 11, 8, 5, 3, 2, 1, 1]

BI_FAMILY = ["Ndayishimiye", "Niyonzima", "Nshimirimana", "Hakizimana", "Ndikumana", "Bizimana", "Habonimana",
             "Manirakiza", "Niyongabo", "Nkurunziza", "Ndayizeye", "Ntakirutimana", "Irakoze", "Nduwimana",
             "Nsabimana", "Niyonkuru", "Havyarimana", "Ciza", "Barutwanayo", "Kwizera", "Uwimana", "Nibizi",
             "Ndabaneze", "Nzeyimana", "Hatungimana", "Bigirimana", "Mpawenimana", "Sindayigaya", "Minani",
             "Ndihokubwayo", "Nyandwi", "Nijimbere", "Nahimana", "Ntirampeba", "Butoyi", "Niyibizi"]
BI_MALE = ["Jean", "Pierre", "Emmanuel", "Eric", "Claude", "Pascal", "Désiré", "Évariste", "Léonidas", "Gervais",
           "Innocent", "Jérémie", "Fabrice", "Thierry", "Egide", "Ferdinand", "Alexis", "Niyonkuru", "Ndayisaba",
           "Arcade", "Déo", "Joseph", "Gilbert", "Audace", "Prosper", "Vianney", "Melchior", "Cyprien"]
BI_FEMALE = ["Marie", "Jeanne", "Claudine", "Françoise", "Espérance", "Immaculée", "Béatrice", "Goreth", "Aline",
             "Divine", "Nadine", "Joséphine", "Chantal", "Consolata", "Irène", "Jacqueline", "Iradukunda",
             "Irakoze", "Ange", "Keza", "Gloriose", "Euphrasie", "Dorothée", "Médiatrice", "Nadège", "Aimée"]
CD_FAMILY = ["Amisi", "Mwamba", "Kasongo", "Ilunga", "Mbuyi", "Bahati", "Shabani", "Assani", "Sadiki", "Byamungu",
             "Wilondja", "Kalunga", "Mulimbi", "Musafiri", "Tabu", "Alimasi", "Mwenebatu", "Lubunga", "Ebuela",
             "Selemani", "Lusambya", "Abwe", "Kyalumba", "Mbilizi", "Kibukila", "Aluta"]
CD_MALE = ["Espoir", "Bienvenu", "Amani", "Baraka", "Dieudonné", "Christian", "Patient", "Josué", "Moïse",
           "Héritier", "Aksanti", "Riziki", "Safari", "Jacques", "Elie", "Fiston", "Trésor", "Obedi", "Lwambo"]
CD_FEMALE = ["Furaha", "Neema", "Mapendo", "Sifa", "Faida", "Zawadi", "Rehema", "Jeanine", "Gloire", "Merveille",
             "Grâce", "Esther", "Feza", "Anifa", "Chance", "Nsimire", "Mwajuma", "Riziki", "Bora", "Asha"]
ORIGINS = {
    "burundi": [("Makamba", "Nyanza-Lac", ["Kabonga", "Muyange", "Buheka"]), ("Makamba", "Kayogoro", ["Mugeni"]),
                ("Rutana", "Giharo", ["Muzye", "Kabingo"]), ("Ruyigi", "Gisuru", ["Nyabitare", "Ndemeka"]),
                ("Muyinga", "Giteranyi", ["Kinazi", "Ruzo"]), ("Kirundo", "Busoni", ["Gatare"]),
                ("Cankuzo", "Mishiha", ["Nyabikenke"]), ("Bujumbura Rural", "Kabezi", ["Migera"])],
    "drc": [("Sud-Kivu", "Fizi", ["Baraka", "Mboko", "Lusenda", "Kalundja"]),
            ("Sud-Kivu", "Uvira", ["Kiliba", "Sange", "Luvungi"]), ("Sud-Kivu", "Mwenga", ["Kamituga"]),
            ("Tanganyika", "Kalemie", ["Kalemie", "Mulange"])],
}


class DemoRegistry:
    def __init__(self, seed: int = 4):
        self.rng = random.Random(seed)
        self.today = date.today()  # noqa: DTZ011 - demo dates are calendar dates near today
        self.next_member = 1

    def person(self, country: str, sex: str) -> tuple[str, str]:
        rng = self.rng
        if country == "drc":
            return rng.choice(CD_FEMALE if sex == "female" else CD_MALE), rng.choice(CD_FAMILY)
        return rng.choice(BI_FEMALE if sex == "female" else BI_MALE), rng.choice(BI_FAMILY)

    def birth(self, low: int, high: int, on: date) -> date:
        return on - timedelta(days=self.rng.randint(low * 365, high * 365 + 364))

    def household(self, index: int) -> dict:
        rng = self.rng
        camp = rng.choices([c for c, _w in CAMP_WEIGHTS], [w for _c, w in CAMP_WEIGHTS])[0]
        country = "drc" if camp == "NYA" and rng.random() < 0.55 else "burundi"
        registered = self.today - timedelta(days=rng.randint(30, 8 * 365))
        size = rng.choices(range(1, 13), SIZE_WEIGHTS)[0]
        head_sex = "female" if rng.random() < 0.35 else "male"
        head_age = (16, 17) if rng.random() < 0.01 else (60, 80) if rng.random() < 0.08 else (20, 59)
        head = self.member(country, head_sex, self.birth(*head_age, registered), "head", registered)
        members = []
        if size > 1 and head_sex == "male" and head_age[0] >= 20 and rng.random() < 0.85:
            members.append(self.member(country, "female", self.birth(18, 50, registered), "spouse", registered,
                                       family=None))
        while len(members) < size - 1:
            kind = rng.random()
            if kind < 0.82:
                rel, age = "son_daughter", (0, 17)
            elif kind < 0.9:
                rel, age = "grandchild", (0, 10)
            elif kind < 0.95:
                rel, age = "parent", (55, 85)
            else:
                rel, age = "other_relative", (5, 40)
            sex = rng.choice(["female", "male"])
            members.append(self.member(country, sex, self.birth(*age, registered), rel, registered,
                                       family=head["family"] if rel in ("son_daughter", "grandchild") else None))
        province, commune, villages = rng.choice(ORIGINS[country])
        purposes = ["registration", "assistance", "shelter"] + (["referral"] if rng.random() < 0.3 else []) + (
            ["data_sharing"] if rng.random() < 0.5 else [])
        return {
            "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "index": index, "camp": camp,
            "block": rng.choice(BLOCKS), "head": head, "members": members, "country": country,
            "province": province, "commune": commune, "village": rng.choice(villages),
            "language": ("kiswahili" if rng.random() < 0.8 else "french") if country == "drc" else (
                "kirundi" if rng.random() < 0.9 else "french"),
            "phone": f"+2557{rng.randint(10_000_000, 99_999_999)}" if rng.random() < 0.6 else "",
            "group_id": f"945-{registered.year % 100:02d}C{index:06d}" if rng.random() < 0.9 else "",
            "registered": registered, "purposes": purposes,
            "collector": (self.person(country, rng.choice(["female", "male"])), rng.choice(
                ["neighbour", "brother", "sister", "cousin", "friend"])) if rng.random() < 0.05 else None,
        }

    def member(self, country: str, sex: str, born: date, relationship: str, registered: date,
               family: str | None = None) -> dict:
        rng = self.rng
        given, surname = self.person(country, sex)
        age = (registered - born).days // 365
        needs = []
        if sex == "female" and 18 <= age <= 45 and rng.random() < 0.12:
            needs.append("pregnant" if rng.random() < 0.5 else "lactating")
        if rng.random() < 0.03:
            needs.append("chronic_illness")
        if age >= 60 and rng.random() < 0.25:
            needs.append("older_at_risk")
        if relationship == "other_relative" and age < 18 and rng.random() < 0.3:
            needs.append("separated_child")
        wg = {}
        if rng.random() < (0.15 if age >= 60 else 0.03):
            wg[rng.choice(["seeing", "hearing", "walking", "remembering", "self_care", "communicating"])] = \
                rng.choice(["a_lot_of_difficulty", "cannot_do_at_all", "some_difficulty"])
        estimated = age >= 18 and rng.random() < 0.15
        self.next_member += 1
        return {"given": given, "family": family or surname, "sex": sex, "born": born, "relationship": relationship,
                "age": age if estimated else None, "needs": needs, "wg": wg,
                "individual_id": f"945-{self.next_member:08d}" if rng.random() < 0.85 else ""}

    def duplicate_of(self, original: dict, index: int) -> dict:
        """The same family registered again: a typo in a name, another camp sometimes, no UNHCR id."""
        rng = self.rng
        copy = {**original, "index": index, "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "group_id": "", "block": rng.choice(BLOCKS), "copy_of": original["uuid"]}
        if rng.random() < 0.3:
            copy["camp"] = rng.choice([c for c, _w in CAMP_WEIGHTS if c != original["camp"]])
        if rng.random() < 0.5:
            copy["phone"] = ""
        head = dict(original["head"])
        head["given"] = typo(head["given"], rng)
        head["individual_id"] = ""
        copy["head"] = head
        copy["members"] = [{**m, "individual_id": "", "given": typo(m["given"], rng) if rng.random() < 0.3
                            else m["given"]} for m in original["members"]]
        copy["registered"] = min(self.today, original["registered"] + timedelta(days=rng.randint(20, 400)))
        return copy


def typo(name: str, rng: random.Random) -> str:
    if len(name) < 4:
        return name
    i = rng.randrange(1, len(name) - 1)
    kind = rng.random()
    if kind < 0.4:
        return name[:i] + name[i + 1:]
    if kind < 0.7:
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]
    return name[:i] + {"i": "y", "y": "i", "e": "é", "é": "e", "a": "e"}.get(name[i], "i") + name[i + 1:]


HEADERS = [
    "start", "end", "today", "location/camp", "location/block", "household/head_given_name",
    "household/head_family_name", "household/head_sex", "household/head_dob", "household/head_age",
    "household/head_individual_id", "household/head_wg_seeing", "household/head_wg_hearing",
    "household/head_wg_walking", "household/head_wg_remembering", "household/head_wg_self_care",
    "household/head_wg_communicating", "household/head_needs", "household/phone", "household/unhcr_group_id",
    "household/language", "origin/country", "origin/province", "origin/commune", "origin/village",
    "consent/given_by", "consent/date", "consent/purposes", "collector/name", "collector/relationship",
    "collector/id_document", "_id", "_uuid", "_submission_time", "_index",
]
MEMBER_HEADERS = [
    "members/given_name", "members/family_name", "members/sex", "members/dob", "members/age",
    "members/relationship", "members/individual_id", "members/wg_seeing", "members/wg_hearing",
    "members/wg_walking", "members/wg_remembering", "members/wg_self_care", "members/wg_communicating",
    "members/needs", "_index", "_parent_index", "_parent_table_name", "_submission__uuid",
]
WG = ["seeing", "hearing", "walking", "remembering", "self_care", "communicating"]


def _dob(m: dict) -> str | None:
    return None if m["age"] is not None else m["born"].isoformat()


def write_kobo_export(path: Path, households: list[dict]) -> Path:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    main = book.create_sheet("kobo_registration")
    repeat = book.create_sheet("members")
    main.append(HEADERS)
    repeat.append(MEMBER_HEADERS)
    member_index = 1
    for hh in households:
        h = hh["head"]
        collector = hh["collector"]
        reg = hh["registered"].isoformat()
        main.append([
            f"{reg}T08:40:00", f"{reg}T09:05:00", reg, hh["camp"], hh["block"], h["given"], h["family"], h["sex"],
            _dob(h), h["age"], h["individual_id"], *[h["wg"].get(w, "no_difficulty") for w in WG],
            " ".join(h["needs"]), hh["phone"], hh["group_id"], hh["language"], hh["country"], hh["province"],
            hh["commune"], hh["village"], f"{h['given']} {h['family']}", reg, " ".join(hh["purposes"]),
            f"{collector[0][0]} {collector[0][1]}" if collector else None, collector[1] if collector else None,
            None, 60000 + hh["index"], hh["uuid"], f"{reg}T09:05:31", hh["index"],
        ])
        for m in hh["members"]:
            repeat.append([
                m["given"], m["family"], m["sex"], _dob(m), m["age"], m["relationship"], m["individual_id"],
                *[m["wg"].get(w, "no_difficulty") for w in WG], " ".join(m["needs"]), member_index, hh["index"],
                "kobo_registration", hh["uuid"],
            ])
            member_index += 1
    book.save(path)
    return path


def generate(count: int, *, seed: int = 4) -> list[dict]:
    """``count`` households, about one in fifty of them a second registration of another."""
    demo = DemoRegistry(seed)
    planted = max(3, count // 50) if count >= 30 else 0
    households = [demo.household(i) for i in range(1, count - planted + 1)]
    originals = demo.rng.sample(households, planted)
    households += [demo.duplicate_of(o, len(households) + n + 1) for n, o in enumerate(originals)]
    return households


def new_arrivals(seed: int = 7) -> list[dict]:
    """A small batch for the upload page: twelve families, one with a missing sex, one without consent."""
    demo = DemoRegistry(seed)
    demo.next_member = 9_000_000
    batch = [demo.household(900_000 + i) for i in range(12)]
    if batch[3]["members"]:
        batch[3]["members"][0]["sex"] = ""
    batch[7]["purposes"] = []
    return batch


def load(*, households: int, stdout) -> None:
    if households <= 0:
        return
    path = write_kobo_export(files_dir() / "demo-kobo-export.xlsx", generate(households))
    result = run_import(path=path, mapping=Mapping.load("kobo_example"), user=None, site_ids=None, mode="all")
    if not result.committed:
        raise RuntimeError(f"demo registry import refused: {[p.message for p in result.problems[:5]]}")
    scan = duplicates.scan()
    arrivals = write_kobo_export(files_dir() / "demo-new-arrivals.xlsx", new_arrivals())
    counts = result.counts
    stdout.write(f"demo: households {counts.households_new} new, {counts.households_updated} updated "
                 f"({counts.members_new} members); {scan['candidates_new']} possible duplicates to review")
    stdout.write(f"demo: try the import page with {arrivals}")
