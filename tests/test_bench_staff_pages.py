"""`make bench`'s staff rows: on a district from `flask seed-district --small`, each staff page that
benchmarks/prepare.py picks opens for the staff member it is loaded as, and has something to show."""

import importlib.util
from pathlib import Path

from community_board.extensions import db

AS_OF = "2026-11-20 08:00:00"
PREPARE = Path(__file__).resolve().parent.parent / "benchmarks" / "prepare.py"

# The staff rows whose pages prepare.py must find, each on many nodes where the district has them.
ROWS = {
    "grid page",
    "grid month",
    "grid posts",
    "grid cases",
    "household file",
    "compound grids",
    "street grids",
    "district grids",
    "line inbox",
    "first-response queue",
    "cases unsigned",
    "cases mine",
    "cases by compound",
}
# What a page says when its list is empty ("本月还没有走访记录" may be true of a seeded month).
NOTHING = {"grid month": "天内都走访过了"}


def load_prepare():
    spec = importlib.util.spec_from_file_location("bench_prepare", PREPARE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_staff_page_of_the_bench_opens_with_content_for_its_staff(app):
    result = app.test_cli_runner().invoke(args=["seed-district", "--small", "--as-of", AS_OF])
    assert result.exit_code == 0, result.output
    db.session.commit()

    plan = load_prepare().staff_pages(app)

    assert set(plan) == ROWS
    client = app.test_client(use_cookies=False)  # each target carries its own staff cookie
    for page, targets in plan.items():
        assert targets, page
        if page != "district grids":  # one district (its two grid-centre staff); 3 streets, 6 compounds
            assert len({tuple(target) for target in targets}) >= 3, page  # its own node, or its own staff
        shown = 0
        for path, cookie in targets:
            response = client.get(path, headers={"Cookie": cookie})
            assert response.status_code == 200, (page, path, response.status_code, response.location)
            shown += NOTHING.get(page, 'class="empty-state"') not in response.get_data(as_text=True)
        assert shown, f"every {page} page is empty"
