"""Seeded generator of a realistic reconcile world: practices, providers, directory listings (with formatting noise
and injected real errors), practice websites and phone-survey reports, plus the truth (which findings must exist).

Used by benchmarks/reconcile_scale.py. Values repeat as in real directories: every provider of a practice shares
its address and phone, and each provider is listed by up to three insurers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field

from reconcile.normalize.npi import npi_check_digit

FIRST = ("James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard Susan Joseph "
         "Jessica Thomas Sarah Charles Karen Christopher Nancy Daniel Lisa Matthew Betty Anthony Margaret Mark Sandra "
         "Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Dorothy Kevin Carol Brian "
         "Amanda George Melissa Edward Deborah Ronald Stephanie Timothy Rebecca Jason Sharon Jeffrey Laura Ryan "
         "Cynthia Jacob Kathleen Gary Amy Nicholas Shirley Eric Angela Jonathan Helen Stephen Anna Larry Brenda "
         "Justin Pamela Scott Nicole Brandon Emma Benjamin Samantha Samuel Katherine Gregory Christine Frank Debra "
         "Alexander Rachel Raymond Catherine Patrick Carolyn Jack Janet Dennis Ruth Jerry Maria Tyler Heather Aaron "
         "Diane Jose Virginia Adam Julie Henry Joyce Nathan Victoria Douglas Olivia Zachary Kelly Peter Christina "
         "Kyle Lauren Walter Joan Ethan Evelyn Jeremy Judith Harold Megan Keith Cheryl Christian Andrea Roger Hannah "
         "Noah Martha Gerald Jacqueline Carl Frances Terry Gloria Sean Ann Austin Teresa Arthur Kathryn Lawrence "
         "Sara Jesse Janice Dylan Jean Bryan Alice Joe Madison Jordan Doris Billy Abigail Bruce Julia Albert Judy "
         "Willie Grace Gabriel Denise Logan Amber Alan Marilyn Juan Beverly Wayne Danielle Roy Theresa Ralph Sophia "
         "Randy Marie Eugene Diana Vincent Brittany Russell Natalie Elijah Isabella Louis Charlotte Bobby Rose "
         "Philip Alexis Johnny Kayla Priya Wei Mohammed Aisha Hiroshi Mei Carlos Lucia Dmitri Olga Kwame Ngozi").split()
LAST_HEADS = ("Ab Bar Bell Black Brad Brook Burn Cal Camp Car Chap Clay Cole Craw Dal Dav Dun Ell Fair Far Fitz "
              "Ford Gal Gar Gold Good Gra Hal Ham Har Hay Hol Kel Ken Lan Lind Mar Mc Mor New Nor Pal Par Pen Rad "
              "Ray Red Rich Rob Ros Rut Sal Sand Shel Stan Ston Sut Tal Thorn Wal War Wel Whit Win Wood Yar").split()
LAST_TAILS = ("ton ford well man son ley field wood er ing by ham worth more ridge stone dale land ett ins "
              "ard ell ock ow ey").split()
REAL_LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
             "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
             "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall "
             "Rivera Campbell Mitchell Carter Roberts Patel Kim Chen Wang Singh Okafor O'Brien McDonald De la Cruz "
             "Smith-Jones Van Buren").split()
STREETS = ("Main Oak Maple Cedar Pine Elm Washington Lake Hill Park Walnut Church Spring Ridge Meadow Sunset Forest "
           "River Highland Jackson Lincoln Madison Franklin Center Mill Willow Cherry Chestnut Broad Market Union "
           "Grand Liberty Adams Jefferson Dogwood Birch Hickory Poplar Valley Prospect Summit College Academy "
           "Harbor Bay Orchard").split()
TYPES = (("St", "Street"), ("Ave", "Avenue"), ("Rd", "Road"), ("Blvd", "Boulevard"), ("Dr", "Drive"),
         ("Ln", "Lane"), ("Way", "Way"), ("Ct", "Court"), ("Pl", "Place"), ("Pkwy", "Parkway"))
DIRECTIONS = (("N", "North"), ("S", "South"), ("E", "East"), ("W", "West"))
CITIES = (("Springfield", "IL", "627", "217"), ("Peoria", "IL", "616", "309"), ("Columbus", "OH", "432", "614"),
          ("Dayton", "OH", "454", "937"), ("Madison", "WI", "537", "608"), ("Austin", "TX", "787", "512"),
          ("Dallas", "TX", "752", "214"), ("Denver", "CO", "802", "303"), ("Portland", "OR", "972", "503"),
          ("Raleigh", "NC", "276", "919"), ("Richmond", "VA", "232", "804"), ("Albany", "NY", "122", "518"),
          ("Tampa", "FL", "336", "813"), ("Phoenix", "AZ", "850", "602"), ("Boise", "ID", "837", "208"),
          ("Omaha", "NE", "681", "402"), ("Tulsa", "OK", "741", "918"), ("Fresno", "CA", "937", "559"),
          ("Reno", "NV", "895", "775"), ("Atlanta", "GA", "303", "404"))
SPECIALTIES = ("Family Medicine", "Pediatrics", "Internal Medicine", "Cardiology", "Dermatology", "Orthopedics",
               "Women's Health", "Behavioral Health", "Endocrinology", "Neurology", "Primary Care", "Urology")
ORG_TAILS = ("", " Associates", " Group", " Clinic", " Partners", " Center", " Specialists", " Care")
INSURERS = ("Acme Health", "Cobalt Care", "Summit Mutual")
CREDENTIALS = ("MD", "MD", "MD", "DO", "NP", "PA-C", "MD, FACP", "DO, MPH")
STATUS_TRUE = ("accepting", "accepting", "accepting", "limited", "not_accepting", "existing_only", "waitlist")
TAKES = {"accepting": True, "limited": True, "not_accepting": False, "existing_only": False, "waitlist": False}
STATUS_SITE_TEXT = {
    "accepting": ("Accepting new patients", "Now accepting new patients!", "yes"),
    "limited": ("Accepting new patients by referral only", "Limited availability for new patients"),
    "not_accepting": ("Not accepting new patients", "Our panel is full", "Closed to new patients"),
    "existing_only": ("Existing patients only", "Only seeing established patients"),
    "waitlist": ("Waitlist for new patients", "New patients: waiting list"),
}
NICKNAMES = {"Robert": "Bob", "William": "Bill", "Elizabeth": "Liz", "James": "Jim", "Michael": "Mike",
             "Katherine": "Kate", "Richard": "Rick", "Thomas": "Tom", "Jennifer": "Jen", "Christopher": "Chris",
             "Margaret": "Peggy", "Joseph": "Joe", "Daniel": "Dan", "Patricia": "Pat", "Anthony": "Tony"}
ERROR_TYPES = ("phone", "address", "accepting_status", "provider_not_at_location")


@dataclass
class World:
    """Rows for the warehouse tables plus the truth set {(listing_id, finding_type)}."""

    listings: list[dict] = field(default_factory=list)
    observations: list[dict] = field(default_factory=list)
    truth: set[tuple[str, str]] = field(default_factory=set)


def _sha(text: str) -> str:
    """Stable 16-hex id."""
    return hashlib.sha1(text.encode()).hexdigest()[:16]


class Generator:
    """Seeded generator; `world(n_listings)` returns a World of about n listings and as many observations."""

    def __init__(self, seed: int = 7, noise: float = 0.4, error_rate: float = 0.15, as_of: dt.date = dt.date(2026, 11, 24)):
        """Seed and rates: noise = share of listings with formatting noise; error_rate = share with a real error."""
        self.r = random.Random(seed)
        self.noise = noise
        self.error_rate = error_rate
        self.as_of = as_of
        self.used_phones: set[str] = set()
        self.npi_seq = 100_000_000
        self.last_names = REAL_LAST + [h + t for h in LAST_HEADS for t in LAST_TAILS]
        self.buildings: dict[str, list[dict]] = {}

    # values -------------------------------------------------------------------------------------------------------
    def npi(self) -> str:
        """A fresh valid NPI (Luhn check digit with the 80840 prefix)."""
        self.npi_seq += self.r.randint(1, 9)
        first9 = str(self.npi_seq)[-9:].rjust(9, "1")
        first9 = "1" + first9[1:]
        return first9 + npi_check_digit(first9)

    def phone(self, area: str) -> str:
        """A fresh 10-digit number in an area code (digits only), never used before."""
        while True:
            digits = f"{area}{self.r.randint(200, 989)}{self.r.randint(0, 9999):04d}"
            if digits[3:6] not in ("555", "911", "411", "611") and digits not in self.used_phones:
                self.used_phones.add(digits)
                return digits

    def phone_text(self, digits: str, noisy: bool) -> str:
        """A phone as written: canonical (217) 555-0100 or one of the many other spellings."""
        a, b, c = digits[:3], digits[3:6], digits[6:]
        if not noisy:
            return f"({a}) {b}-{c}"
        return self.r.choice((f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}", f"1-{a}-{b}-{c}", digits,
                              f"+1{digits}", f"({a}){b}-{c}", f"Tel: ({a}) {b}-{c}", f"{a} {b} {c}"))

    def address(self, city: tuple, shared: bool = False) -> dict:
        """A fresh practice location; with shared=True, another suite in a building that already houses a practice."""
        unit = self.r.choice(("", "", "", str(self.r.randint(1, 450)), chr(65 + self.r.randint(0, 5))))
        if shared and self.buildings.get(city[0]):
            base = self.r.choice(self.buildings[city[0]])
            return {**base, "unit": str(self.r.randint(500, 999))}
        address = {"number": str(self.r.randint(1, 9899)), "dir": self.r.choice(("",) * 6 + DIRECTIONS),
                   "street": self.r.choice(STREETS), "type": self.r.choice(TYPES), "unit": unit,
                   "city": city[0], "state": city[1], "zip": f"{city[2]}{self.r.randint(1, 99):02d}"}
        self.buildings.setdefault(city[0], []).append(address)
        return address

    def street_text(self, a: dict, noisy: bool) -> str:
        """The street line as written: canonical 'Ste 4' form or another spelling (Street/St, Suite/#, case)."""
        r = self.r
        direction = (a["dir"][1] if noisy and r.random() < 0.5 else a["dir"][0]) if a["dir"] else ""
        st_type = a["type"][1] if noisy and r.random() < 0.6 else a["type"][0]
        if noisy and r.random() < 0.3 and st_type == a["type"][0]:
            st_type += "."
        parts = [a["number"], direction, a["street"], st_type]
        line = " ".join(p for p in parts if p)
        if a["unit"]:
            label = r.choice(("Suite", "Ste", "STE", "#", "Ste.")) if noisy else "Ste"
            sep = r.choice((", ", " ")) if noisy else " "
            line += f"{sep}{label} {a['unit']}" if label != "#" else f"{sep}# {a['unit']}"
        if noisy and r.random() < 0.3:
            line = line.upper()
        return line

    def zip_text(self, a: dict, noisy: bool) -> str:
        """ZIP5, or ZIP+4 as some directories publish it."""
        return f"{a['zip']}-{self.r.randint(1000, 9999)}" if noisy and self.r.random() < 0.5 else a["zip"]

    def name_text(self, p: dict, noisy: bool) -> str:
        """A provider's display name: 'Last, First M CRED' in many styles."""
        r = self.r
        if not noisy:
            return f"{p['last']}, {p['first']} {p['middle']} {p['cred']}"
        middle = r.choice(("", p["middle"], p["middle"] + "."))
        cred = r.choice(("", p["cred"], p["cred"].replace("MD", "M.D.")))
        style = r.randint(0, 3)
        if style == 0:
            text = f"{p['first']} {middle + ' ' if middle else ''}{p['last']}{', ' + cred if cred else ''}"
        elif style == 1:
            text = f"Dr. {p['first']} {p['last']}"
        elif style == 2:
            text = f"{p['last']}, {p['first']}{' ' + middle if middle else ''}{' ' + cred if cred else ''}"
        else:
            text = f"{p['first']} {p['last']} {cred}".strip()
        return text.upper() if r.random() < 0.3 else text

    def site_name(self, p: dict) -> str:
        """How a team page writes a provider (sometimes by nickname: Bob for Robert)."""
        first = NICKNAMES.get(p["first"], p["first"]) if self.r.random() < 0.3 else p["first"]
        return self.r.choice((f"Dr. {first} {p['last']}", f"{p['first']} {p['last']}, {p['cred']}",
                              f"{p['first']} {p['middle']}. {p['last']} {p['cred']}"))

    def website_text(self, domain: str, noisy: bool) -> str:
        """The practice website as a directory publishes it."""
        if not noisy:
            return f"https://www.{domain}/"
        return self.r.choice((f"http://{domain}", f"{domain}", f"www.{domain}/", f"https://{domain}/index.html",
                              f"HTTPS://WWW.{domain.upper()}/"))

    # the world ----------------------------------------------------------------------------------------------------
    def world(self, n_listings: int) -> World:
        """About n_listings listings across three insurers, one website per practice, phone-survey reports."""
        w = World()
        as_of_ts = dt.datetime.combine(self.as_of, dt.time())
        while len(w.listings) < n_listings:
            self._practice(w, as_of_ts)
        return w

    def _practice(self, w: World, as_of_ts: dt.datetime) -> None:
        """One practice with 1-2 locations, 1-8 providers, its website, its listings and reports."""
        r = self.r
        city = r.choice(CITIES)
        spec = r.choice(SPECIALTIES)
        head = r.choice((city[0], r.choice(self.last_names), r.choice(STREETS), r.choice(("Lakeside", "Valley",
                         "Riverside", "Northside", "Hillcrest", "Summit", "Evergreen", "Harbor", "Cornerstone"))))
        org = f"{head} {spec}{r.choice(ORG_TAILS)}"
        pid = _sha(f"practice|{len(w.listings)}|{org}|{r.random()}")
        domain = "".join(ch for ch in org.lower() if ch.isalnum())[:40] + pid[:4] + r.choice((".com", ".org", ".net"))
        locations = [{"addr": self.address(city, shared=r.random() < 0.2), "phone": self.phone(city[3])}
                     for _ in range(1 if r.random() < 0.85 else 2)]
        dead = r.random() < 0.03  # nobody answers the main number
        excluded = r.choice(INSURERS) if r.random() < 0.05 else None  # practice does not take this insurer
        providers = []
        for _ in range(r.choice((1, 1, 2, 3, 3, 4, 5, 6, 8))):
            providers.append({"npi": self.npi(), "first": r.choice(FIRST), "middle": chr(65 + r.randint(0, 25)),
                              "last": r.choice(self.last_names), "cred": r.choice(CREDENTIALS),
                              "status": r.choice(STATUS_TRUE), "loc": r.randrange(len(locations)),
                              "claim": r.random() < 0.6, "departed": r.random() < 0.04})
        if all(p["departed"] for p in providers):
            providers[0]["departed"] = False  # an empty team page proves nothing: keep at least one provider
        present = [p for p in providers if not p["departed"]]
        dead_dialled: set[str] = set()
        practice_listings: list[dict] = []
        site_obs = {
            "observation_id": _sha(f"site|{pid}"), "source": "website", "provider_name": None, "practice_name": org,
            "site_url": f"https://www.{domain}/", "evidence_url": f"https://www.{domain}/contact",
            "evidence_text": f"{org} - call us", "phones": [self.phone_text(l["phone"], r.random() < 0.5) for l in locations],
            "addresses": [f"{self.street_text(l['addr'], r.random() < 0.5)}, {l['addr']['city']}, {l['addr']['state']} "
                          f"{l['addr']['zip']}" for l in locations],
            "providers": [self.site_name(p) for p in present], "roster_complete": True,
            "departed_providers": [self.site_name(p) for p in providers if p["departed"] and r.random() < 0.5],
            "accepting_status": "unknown",
            "insurers_accepted": [i for i in INSURERS if i != excluded] if r.random() < 0.5 else [],
            "insurers_not_accepted": [excluded] if excluded else [],
            "observed_at": as_of_ts - dt.timedelta(days=r.randint(1, 30)),
        }
        w.observations.append(site_obs)
        for p in present:
            if p["claim"]:
                w.observations.append({
                    "observation_id": _sha(f"claim|{pid}|{p['npi']}"), "source": "website",
                    "provider_name": self.site_name(p), "site_url": site_obs["site_url"],
                    "evidence_url": f"https://www.{domain}/team", "practice_name": org,
                    "accepting_status": r.choice(STATUS_SITE_TEXT[p["status"]]),
                    "evidence_text": f"{p['first']} {p['last']}: {p['status']}", "observed_at": site_obs["observed_at"],
                })
        for p in providers:
            loc = locations[p["loc"]]
            insurers = r.sample(INSURERS, r.choice((1, 2, 2, 3)))
            group = []
            for insurer in insurers:
                lid = _sha(f"listing|{insurer}|{p['npi']}|{pid}")
                noisy = r.random() < self.noise
                error = None
                if p["departed"]:
                    error = "provider_not_at_location"
                elif insurer == excluded:
                    error = "insurer_not_accepted"
                elif r.random() < self.error_rate:
                    error = r.choice(("phone", "address", "accepting_status") if p["claim"] else ("phone", "address"))
                phone = loc["phone"] if error != "phone" else self.phone(city[3])
                addr = loc["addr"] if error != "address" else self.address(city)
                status = p["status"]
                if error == "accepting_status":
                    status = r.choice([s for s in TAKES if TAKES[s] != TAKES[p["status"]]])
                stale = r.random() < 0.1
                listing = {
                    "listing_id": lid, "insurer": insurer, "directory_kind": r.choice(("fhir", "qhp", "html")),
                    "role": "audited", "npi": p["npi"], "provider_name": self.name_text(p, noisy),
                    "practice_name": None if r.random() < 0.2 else
                    (org.upper() + (", LLC" if r.random() < 0.3 else "")) if noisy else org,
                    "address": self.street_text(addr, noisy), "city": addr["city"].upper() if noisy else addr["city"],
                    "state": addr["state"], "zip": self.zip_text(addr, noisy), "phone": self.phone_text(phone, noisy),
                    "accepting_status": status,
                    "website": self.website_text(domain, noisy) if r.random() < 0.85 else None,
                    "last_updated": as_of_ts - dt.timedelta(days=r.randint(100, 400) if stale else r.randint(1, 80)),
                    "source_url": f"https://{insurer.split()[0].lower()}.example/directory", "fetched_at": as_of_ts,
                }
                w.listings.append(listing)
                group.append((listing, error, phone))
                if error:
                    w.truth.add((lid, error))
                if insurer == excluded:
                    w.truth.add((lid, "insurer_not_accepted"))
                if stale:
                    w.truth.add((lid, "stale_listing"))
            for listing, error, dialled in group:  # same NPI, same practice, another directory disagrees
                if error not in ("phone", "address", "accepting_status"):
                    continue
                for other, other_error, other_dialled in group:
                    same_practice = dialled == other_dialled or (error != "address" and other_error != "address")
                    both_flipped = error == other_error == "accepting_status"  # same coarse value: no conflict
                    if other is not listing and same_practice and not both_flipped:
                        w.truth.add((listing["listing_id"], "cross_directory_conflict"))
                        break
            for listing, error, dialled in group:
                if r.random() < 0.5:
                    continue
                obs = {"observation_id": _sha(f"report|{listing['listing_id']}"),
                       "source": r.choice(("phone_survey", "secret_shopper")), "npi": p["npi"],
                       "provider_name": f"{p['first']} {p['last']}", "phone": listing["phone"],
                       "evidence_url": "reports/survey.csv", "evidence_text": f"call about {p['last']}",
                       "observed_at": as_of_ts - dt.timedelta(days=r.randint(1, 20))}
                if dialled == loc["phone"] and dead:
                    obs.update(reachable=False, call_outcome=r.choice(("no_answer", "voicemail", "disconnected")))
                elif dialled != loc["phone"]:
                    obs.update(reachable=True, call_outcome="wrong_number")
                elif p["departed"]:
                    obs.update(reachable=True, call_outcome="not_at_location")
                else:
                    obs.update(reachable=True, call_outcome="reached",
                               accepting_status=r.choice(STATUS_SITE_TEXT[p["status"]]))
                w.observations.append(obs)
                if obs["reachable"] is False:
                    dead_dialled.add(_digits(obs["phone"]))
            practice_listings += [listing for listing, _, _ in group]
        for listing in practice_listings:  # every listing showing a dead number that a report dialled
            if _digits(listing["phone"]) in dead_dialled:
                w.truth.add((listing["listing_id"], "unreachable"))


def _digits(text: str) -> str:
    """Last ten digits of a phone text (ground-truth comparison only)."""
    digits = "".join(ch for ch in text if ch.isdigit())
    return digits[-10:]
