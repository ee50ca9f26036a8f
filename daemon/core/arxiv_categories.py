"""arXiv's category codes (https://arxiv.org/category_taxonomy) and the OAI-PMH set of
each archive: what `categories = [...]` of an arXiv source may name."""

from __future__ import annotations

_SUBJECTS = {
    "cs": "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC IR IT LG LO MA MM MS "
    "NA NE NI OH OS PF PL RO SC SD SE SI SY",
    "econ": "EM GN TH",
    "eess": "AS IV SP SY",
    "math": "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO IT KT LO MG MP NA NT OA OC PR "
    "QA RA RT SG SP ST",
    "astro-ph": "CO EP GA HE IM SR",
    "cond-mat": "dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con",
    "nlin": "AO CD CG PS SI",
    "physics": "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an "
    "ed-ph flu-dyn gen-ph geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph soc-ph "
    "space-ph",
    "q-bio": "BM CB GN MN NC OT PE QM SC TO",
    "q-fin": "CP EC GN MF PM PR RM ST TR",
    "stat": "AP CO ME ML OT TH",
}
_SINGLE = (
    "gr-qc",
    "hep-ex",
    "hep-lat",
    "hep-ph",
    "hep-th",
    "math-ph",
    "nucl-ex",
    "nucl-th",
    "quant-ph",
)
# archives that OAI-PMH files under "physics:<archive>"
_PHYSICS_SETS = {"astro-ph", "cond-mat", "nlin", "physics", *_SINGLE}

CATEGORIES = frozenset(
    [f"{archive}.{s}" for archive, subjects in _SUBJECTS.items() for s in subjects.split()]
    + list(_SUBJECTS)
    + list(_SINGLE)
)


def archive(category: str) -> str:
    """'cs' for 'cs.CL', 'hep-th' for 'hep-th', 'physics' for 'physics.optics'."""
    return category.split(".", 1)[0]


def oai_set(category: str) -> str:
    """The OAI-PMH set holding a category's papers: 'cs', 'physics:hep-th', ..."""
    name = archive(category)
    return f"physics:{name}" if name in _PHYSICS_SETS else name


def covers(watched: str, category: str) -> bool:
    """A watched code covers a paper's category: itself, or its whole archive."""
    return category == watched or ("." not in watched and archive(category) == watched)
