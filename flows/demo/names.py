"""Word banks of the demo world: synthetic names, places and the many ways practices phrase things.

Every person here is invented: first and last names are drawn independently and
combined at random, and every phone number is in the NANP fictional range
555-0100..555-0199.
"""

from __future__ import annotations

FIRST_NAMES = (
    "Alma", "Anika", "Arjun", "Beatriz", "Caleb", "Carmen", "Dalia", "Darius", "Elena", "Emeka",
    "Farah", "Felix", "Greta", "Gideon", "Hana", "Hector", "Ingrid", "Isaac", "Jada", "Joaquin",
    "Keiko", "Kofi", "Lena", "Luca", "Maren", "Mateo", "Nadia", "Nikhil", "Oona", "Omar",
    "Priya", "Quentin", "Rosa", "Rafael", "Selma", "Soren", "Tamsin", "Tobias", "Una", "Uriel",
    "Vera", "Viktor", "Wren", "Wesley", "Ximena", "Yara", "Yusuf", "Zora", "Zane", "Ines",
)
# Formal first names with the nickname a team page might use instead (near-miss, never a finding).
NICKNAMES = {
    "Robert": "Bob", "William": "Bill", "Elizabeth": "Liz", "Katherine": "Kate", "Margaret": "Peggy",
    "Richard": "Rick", "Jennifer": "Jen", "Michael": "Mike", "Patricia": "Trish", "Thomas": "Tom",
}
LAST_NAMES = (
    "Abernathy", "Okonkwo", "Lindqvist", "Ferreira", "Nakamura", "Castellano", "Oduya", "Halvorsen",
    "Moreau", "Varga", "Delacroix", "Thorne", "Achterberg", "Bellweather", "Quispe", "Renner",
    "Szabo", "Tanaka", "Underhill", "Vasquez-Lin", "Whitcombe", "Yilmaz", "Zeller", "Brannigan",
    "Coelho", "Draskovic", "Eberhart", "Fairbanks", "Gallardo", "Hollis", "Ibarra", "Jorgensen",
    "Kowalczyk", "Larkspur", "Mbeki", "Northcott", "Orsini", "Pemberton", "Rasmussen", "Sorensen",
    "Trevino", "Umberto", "Valdivia", "Wexler", "Xiong", "Yardley", "Zamora", "Ashdown", "Birchall", "Corrigan",
)
MIDDLE_INITIALS = "ABCDEFGHJKLMNPRSTW"
CREDENTIALS = ("MD", "DO", "NP", "PA-C", "MD", "MD", "DO", "FNP-BC")

# (NUCC code, practice flavour word) — codes are looked up in reconcile/data/nucc_provider_taxonomy.csv.
SPECIALTIES = (
    ("207Q00000X", "Family Medicine"), ("207R00000X", "Internal Medicine"), ("208000000X", "Pediatrics"),
    ("207V00000X", "Obstetrics & Gynecology"), ("207N00000X", "Dermatology"), ("207X00000X", "Orthopaedic Surgery"),
    ("2084P0800X", "Psychiatry"), ("207RC0000X", "Cardiology"), ("207W00000X", "Ophthalmology"),
    ("363LF0000X", "Family Nurse Practitioner"),
)
PRACTICE_WORDS = ("Family Health", "Medical Group", "Clinic", "Health Partners", "Physicians", "Care Associates",
                  "Medical Associates", "Wellness Center", "Primary Care", "Specialists")
PRACTICE_PLACES = ("Riverbend", "Maple Grove", "Cedar Hill", "Lakeshore", "Prairie View", "Oak Hollow",
                   "Willow Creek", "Stonebridge", "Harbor Point", "Meadowlark", "Fox Run", "Silver Lake",
                   "Aspen Ridge", "Bluestem", "Copper Valley", "Elm Park", "Juniper", "Kestrel", "Linden",
                   "North Fork", "Orchard", "Pine Bluff", "Quarry Hill", "Red Oak", "Sunrise", "Tall Grass",
                   "Union Square", "Valley View", "Westgate", "Yellowwood", "Briar Glen", "Clearwater",
                   "Deer Path", "Eastbrook", "Fairhaven", "Glenwood", "Highland", "Ironwood", "Jasper",
                   "Kingsley", "Larkfield", "Millbrook", "Northgate", "Old Mill", "Parkside", "Ravenwood",
                   "Summit", "Thornbury", "Upland", "Verde")

# (street name, suffix long, suffix short)
STREETS = (
    ("Oak", "Street", "St"), ("Maple", "Avenue", "Ave"), ("Lincoln", "Boulevard", "Blvd"), ("Cedar", "Drive", "Dr"),
    ("Washington", "Street", "St"), ("Prairie", "Road", "Rd"), ("Lakeview", "Drive", "Dr"), ("Commerce", "Parkway", "Pkwy"),
    ("Jefferson", "Avenue", "Ave"), ("Elm", "Street", "St"), ("Monroe", "Street", "St"), ("Wabash", "Avenue", "Ave"),
    ("Veterans", "Parkway", "Pkwy"), ("Sangamon", "Avenue", "Ave"), ("Walnut", "Street", "St"), ("Chestnut", "Lane", "Ln"),
    ("Meadow", "Court", "Ct"), ("Hillcrest", "Road", "Rd"), ("Ridge", "Avenue", "Ave"), ("Main", "Street", "St"),
)
DIRECTIONS = (("North", "N"), ("South", "S"), ("East", "E"), ("West", "W"))
# (city, state, zip, area codes) — real cities, invented streets and numbers.
CITIES = (
    ("Springfield", "IL", "62704", ("217",)), ("Peoria", "IL", "61602", ("309",)),
    ("Champaign", "IL", "61820", ("217",)), ("Bloomington", "IL", "61701", ("309",)),
    ("Decatur", "IL", "62521", ("217",)), ("Rockford", "IL", "61104", ("815",)),
    ("Joliet", "IL", "60435", ("815", "779")), ("Naperville", "IL", "60540", ("630", "331")),
    ("Evanston", "IL", "60201", ("847", "224")), ("Urbana", "IL", "61801", ("217",)),
)
# More area codes for large worlds (each holds only 100 fictional 555-01XX numbers).
SPARE_AREA_CODES = ("312", "773", "872", "708", "618", "464", "447", "262", "414", "608", "920", "319", "563",
                    "515", "314", "636", "317", "765", "812", "260", "574", "219", "616", "269", "517", "734",
                    "248", "313", "419", "614", "513", "937", "502", "859", "615", "901", "402", "612", "651",
                    "952", "763", "507", "316", "785", "913", "405", "918", "501", "479", "601")
UNIT_WORDS = (("Suite", "Ste"), ("Suite", "Ste"), ("Suite", "Ste"), ("Unit", "Unit"), ("Building", "Bldg"))

# The demo's insurers (invented) and other plans practices mention.
ACME = "Acme Health"
HARBOR = "Harbor Mutual"
COBALT = "Cobalt Care"
DEMO_INSURERS = (ACME, HARBOR, COBALT)
OTHER_PLANS = ("Medicare", "Illinois Medicaid", "Tricare", "Prairie State Health Plan", "Lakeside Benefit Trust",
               "Northstar Employee Plan")

# ---- phrasing banks (each item is a template; {name} is a provider's display name) ----

ACCEPTING_PHRASES = {
    "accepting": (
        "We are currently accepting new patients.",
        "Good news: our practice is welcoming new patients!",
        "We're accepting new patients of all ages — call us to schedule your first visit.",
        "New patients are always welcome at our office.",
        "Our physicians are now accepting new patients.",
    ),
    "not_accepting": (
        "We are not accepting new patients at this time.",
        "Our practice is currently closed to new patients.",
        "Unfortunately, we are no longer accepting new patients.",
        "At this time we are unable to accept new patients.",
    ),
    "existing_only": (
        "We are only accepting existing patients at this time.",
        "We are currently seeing established patients only.",
    ),
    "waitlist": (
        "We have a waiting list for new patients; call to be added.",
        "New patients are placed on our waitlist.",
    ),
    "limited": (
        "We are accepting new patients with a referral from their primary care physician.",
    ),
}
PROVIDER_NOT_ACCEPTING = (
    "Please note: {name} is not accepting new patients at this time.",
    "{name} is no longer accepting new patients.",
)
LEFT_PRACTICE = (
    "{name} has left the practice. Patients may schedule with any of our other providers.",
    "Please note that {name} is no longer with our practice.",
)
NO_LONGER_ACCEPT = (
    "Please note: we no longer accept {insurer}.",
    "As of this year, we are no longer in network with {insurer}.",
    "We do not accept {insurer} plans.",
)
ACCEPTED_INTRO = (
    "We accept the following insurance plans:",
    "We are in network with these plans:",
    "Insurance plans we accept",
    "Accepted insurance",
)
HOME_INTROS = (
    "Compassionate, unhurried care for the whole family.",
    "Serving our neighbours with personal, evidence-based medicine.",
    "Your partners in health, close to home.",
    "Modern medicine with an old-fashioned personal touch.",
)
MOVED_NOTICE = "We have moved! Our new office is at {new}. (Formerly at {old}.)"
PHONE_CHANGED_NOTICE = "Our phone number has changed. Our former number {old} is no longer in service."
