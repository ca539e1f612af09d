"""The seeded agency in names: its clients, projects, tasks, people, types of work and notes.

"Our Agency GmbH" is the agency itself (internal projects, not billable by default); the clients
have retainer projects named "RET <client>" and fixed-price or time-and-material projects. One
project leaves `isBillableByDefault` unset (awork then decides by whether it has a company).
"""

from __future__ import annotations

COMPANIES = [  # name, industry, tags
    ("Our Agency GmbH", "Marketing & Design", ["internal"]),
    ("Nordlicht Brauerei GmbH", "Food & Beverage", ["key-account"]),
    ("Alpenblick Hotels AG", "Hospitality", ["key-account", "retainer"]),
    ("Hafenkante Logistik GmbH", "Logistics", []),
    ("Kiezkind Bakery", "Retail", ["small-business"]),
]
PROJECT_TYPES = ["Retainer", "Fixed price", "Time & material", "Internal"]
TYPES_OF_WORK = [  # name, icon, archived
    ("Development", "code", False),
    ("Design", "palette", False),
    ("Meeting", "people", False),
    ("Consulting", "lightbulb", False),
    ("Internal", "building", False),
    ("Travel (old)", "car", True),
]
PEOPLE = [
    ("Anna", "Schmidt", "Project Manager"),
    ("Ben", "Müller", "Developer"),
    ("Carla", "Creative", "Designer"),
    ("David", "Wagner", "Developer"),
    ("Elif", "Yilmaz", "Consultant"),
    ("Felix", "Braun", "Managing Director"),
]
PROJECTS = [  # name, key, company, type, isBillableByDefault, weight, closed, tags
    ("Internal: Admin & Ops", "OPS", 0, "Internal", False, 3, False, ["internal"]),
    ("Internal: Agency Website", "AGW", 0, "Internal", False, 2, False, ["internal"]),
    ("RET Nordlicht Brauerei", "RETN", 1, "Retainer", True, 3, False, ["retainer"]),
    ("RET Alpenblick Hotels", "RETA", 2, "Retainer", True, 3, False, ["retainer"]),
    ("Nordlicht Webshop", "NWS", 1, "Fixed price", True, 4, False, []),
    ("Alpenblick Booking App", "ABA", 2, "Fixed price", True, 4, False, ["priority"]),
    ("Hafenkante Dashboard", "HKD", 3, "Time & material", True, 3, False, []),
    ("Hafenkante Pitch", "HKP", 3, "Fixed price", False, 1, True, ["pitch"]),
    ("Kiezkind Brand Refresh", "KBR", 4, "Time & material", None, 2, False, []),
]
TASKS = {  # project type -> (task name, type of work)
    "Internal": [
        ("Administration", "Internal"),
        ("Team meetings", "Meeting"),
        ("Recruiting", "Internal"),
    ],
    "Retainer": [
        ("Monthly support", "Development"),
        ("Content updates", "Design"),
        ("Jour fixe", "Meeting"),
        ("Reporting", "Consulting"),
    ],
    "Fixed price": [
        ("Frontend implementation", "Development"),
        ("Backend API", "Development"),
        ("UI design", "Design"),
        ("Client meetings", "Meeting"),
    ],
    "Time & material": [
        ("Bug fixing", "Development"),
        ("Wireframes", "Design"),
        ("Strategy workshop", "Consulting"),
        ("Weekly sync", "Meeting"),
    ],
}
NOTES = {
    "Development": [
        "Implemented checkout flow",
        "Fixed login redirect bug",
        "Code review",
        "Refactored callback handler",
        "Deployed release to staging",
        "Performance tuning of the product list",
    ],
    "Design": ["Homepage mockups", "Logo iterations", "Icon set", "Styleguide update"],
    "Meeting": [
        "Weekly sync call",
        "Kickoff meeting",
        "Sprint planning meeting",
        "Call with client about scope",
        "Status meeting",
    ],
    "Consulting": ["SEO consulting", "Workshop preparation", "Analytics review", "Strategy call"],
    "Internal": ["Invoicing", "Team meeting", "Onboarding new colleague", "Recall of old laptops"],
}
