"""The demo's vocabulary and proportions: the words its partners, interactions and events are made of and
how its partners spread over types, regions and countries (plain data).

Kept apart from the generators so that they read as logic; changing a list changes the demo's content
(a list's length changes what every later random draw picks), so edit with the seed-stability test in mind.
"""

from __future__ import annotations

# --- partners -------------------------------------------------------------------------------------
TYPE_WEIGHTS = {
    "reseller": 22,
    "referral": 16,
    "affiliate": 13,
    "technology": 10,
    "agency": 10,
    "distributor": 6,
    "influencer": 12,
    "service": 11,
}
TYPE_ACTIVITY = {
    "reseller": 1.15,
    "distributor": 1.0,
    "technology": 0.9,
    "agency": 0.9,
    "service": 0.9,
    "referral": 0.7,
    "affiliate": 0.5,
    "influencer": 0.6,
}
REGION_WEIGHTS = {"NA": 36, "EMEA": 38, "LATAM": 11, "APAC": 15}
# region → (country, Faker locale, weight)
COUNTRIES: dict[str, list[tuple[str, str, int]]] = {
    "NA": [("US", "en_US", 72), ("CA", "en_CA", 28)],
    "EMEA": [
        ("GB", "en_GB", 22),
        ("DE", "de_DE", 20),
        ("FR", "fr_FR", 14),
        ("NL", "nl_NL", 10),
        ("ES", "es_ES", 8),
        ("IT", "it_IT", 7),
        ("SE", "sv_SE", 7),
        ("PL", "pl_PL", 6),
        ("IE", "en_IE", 6),
    ],
    "LATAM": [
        ("BR", "pt_BR", 40),
        ("MX", "es_MX", 30),
        ("CO", "es_CO", 12),
        ("CL", "es_CL", 10),
        ("AR", "es_AR", 8),
    ],
    "APAC": [
        ("AU", "en_AU", 30),
        ("IN", "en_IN", 28),
        ("JP", "ja_JP", 17),
        ("SG", "en_GB", 15),
        ("NZ", "en_NZ", 10),
    ],
}
LOCALES = sorted({locale for options in COUNTRIES.values() for _, locale, _ in options})
AGREEMENT_TERMS = [
    "Standard terms.",
    "Net 30 payment, 12-month term.",
    "Includes MDF and deal protection of 90 days.",
    "",
]
LEGAL_SUFFIX = {
    "US": "Inc.",
    "CA": "Ltd.",
    "GB": "Ltd",
    "DE": "GmbH",
    "FR": "SAS",
    "NL": "B.V.",
    "ES": "S.L.",
    "IT": "S.r.l.",
    "SE": "AB",
    "PL": "Sp. z o.o.",
    "IE": "Ltd",
    "BR": "Ltda.",
    "MX": "S.A. de C.V.",
    "CO": "S.A.S.",
    "CL": "SpA",
    "AR": "S.R.L.",
    "AU": "Pty Ltd",
    "IN": "Pvt Ltd",
    "JP": "K.K.",
    "SG": "Pte. Ltd.",
    "NZ": "Limited",
}
BRAND_STEMS = [
    "Bright",
    "North",
    "Blue",
    "Silver",
    "Iron",
    "Cedar",
    "Summit",
    "Harbor",
    "Nimbus",
    "Vertex",
    "Apex",
    "Quantum",
    "Lumen",
    "Orbit",
    "Pioneer",
    "Granite",
    "Falcon",
    "Maple",
    "Aurora",
    "Beacon",
    "Atlas",
    "Clearpath",
    "Redwood",
    "Keystone",
    "Meridian",
    "Polar",
    "Copper",
    "Evergreen",
    "Crest",
    "Horizon",
    "Stellar",
    "Tidal",
    "Vector",
    "Zenith",
    "Cobalt",
    "Juniper",
    "Riverstone",
    "Oakridge",
    "Skyline",
    "Sterling",
    "Bluebird",
    "Ember",
    "Fjord",
    "Kestrel",
    "Lighthouse",
    "Mosaic",
    "Northstar",
    "Octave",
    "Prism",
    "Sable",
    "Tandem",
    "Union",
    "Willow",
    "Arcadia",
    "Cascade",
]
BRAND_TAILS = ("wave", "peak", "point", "line", "bridge", "field", "works", "stack", "gate", "path", "")
TYPE_SUFFIXES = {
    "reseller": ["IT Solutions", "Systems", "Technologies", "Computing", "Networks"],
    "referral": ["Advisors", "Group", "Partners", "Consulting"],
    "affiliate": ["Reviews", "Deals", "Media", "Compare", "Insights"],
    "technology": ["Labs", "Software", "AI", "Data", "Cloud"],
    "agency": ["Digital", "Creative", "Marketing", "Studio", "Growth"],
    "distributor": ["Distribution", "Supply", "Trading", "Wholesale"],
    "service": ["Consulting", "Services", "Integration", "Managed Services"],
}
TAGS = [
    "strategic",
    "co-sell",
    "marketplace",
    "enterprise",
    "mid-market",
    "smb",
    "healthcare",
    "fintech",
    "public-sector",
    "retail",
    "manufacturing",
    "education",
    "aws",
    "azure",
    "gcp",
    "certified",
    "eu-data-residency",
    "new-logo-focus",
    "mdf-eligible",
    "watchlist",
]
DOMAIN_STOPWORDS = {"y", "e", "i", "and", "und", "et", "de", "la", "van", "der", "s", "a", "co", "the"}

# --- interactions and engagement events -------------------------------------------------------------
SUBJECTS: dict[tuple[str, str], list[str]] = {
    ("email", "outbound"): [
        "Q{q} pipeline review",
        "New enablement materials for {year}",
        "Deal registration approved: {customer}",
        "Invitation: partner webinar on {month}",
        "Following up on our call",
        "MDF request update",
        "Co-marketing campaign proposal",
        "Your commission statement for {month}",
        "Lead for you: {customer}",
        "Certification reminder",
    ],
    ("email", "inbound"): [
        "Deal registration: {customer}",
        "Question about our commission statement",
        "Lead follow-up: {customer}",
        "Pricing question for {customer}",
        "Need help with the demo environment",
        "Certification exam results",
        "Request for co-branded collateral",
        "Introducing our new account manager",
    ],
    ("call", "outbound"): [
        "Pipeline call",
        "Monthly check-in",
        "Deal strategy: {customer}",
        "Renewal call",
        "Enablement follow-up",
    ],
    ("call", "inbound"): [
        "Escalation: {customer}",
        "Support question on {customer} deployment",
        "Quick call about pricing",
    ],
    ("meeting", "outbound"): [
        "QBR Q{q} {year}",
        "Joint account planning",
        "Executive sponsor meeting",
        "Sales training session",
        "Marketing plan {year}",
    ],
    ("meeting", "inbound"): ["Partner roadmap briefing", "Customer workshop with {customer}"],
    ("note", "internal"): [
        "Account note",
        "Tier review",
        "Notes from trade show",
        "Pipeline observations",
        "Renewal planning",
    ],
}
BODIES = {
    "email": [
        "{n} opportunities in play; next step agreed for {weekday}.",
        "Shared the latest price list and battlecards.",
        "Asked for an update on {customer} by {weekday}.",
        "Confirmed the timeline for {customer}; decision expected this quarter.",
    ],
    "call": [
        "Discussed {n} open deals, {customer} is the largest.",
        "Reviewed certification progress.",
        "Agreed to run a joint webinar next month.",
        "Walked through the new deal registration flow.",
    ],
    "meeting": [
        "Attendees from both sides; reviewed targets vs actuals and agreed {n} actions.",
        "Planned next quarter's campaigns and MDF.",
        "Deep dive into {customer} account plan.",
    ],
    "note": [
        "Relationship is {mood}. Main contact responsive.",
        "Considering a tier change at next review.",
        "Pipeline looks {mood}; keep an eye on {customer}.",
    ],
}
DECLINE_NOTES = [
    "Engagement dropping: no reply to the last emails",
    "Churn risk: ask for an executive call",
    "Partner missed the QBR",
]
RESOURCES = ["Sales deck", "Battlecard", "Pricing sheet", "Case study", "Product one-pager", "Demo script"]
COURSES = ["Sales fundamentals", "Technical onboarding", "Solution architect", "Marketing playbook"]
CHANNELS = ["instagram", "youtube", "tiktok", "linkedin", "blog"]
MOODS = ["solid", "steady", "promising", "mixed"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
