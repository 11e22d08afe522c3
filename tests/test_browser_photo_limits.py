"""Browser: a photo over 10 MB is refused as soon as it is chosen, before a long upload."""

import pytest
from test_browser_board import photo_file, sign_in

from community_board.extensions import db

pytestmark = pytest.mark.browser


def test_a_photo_over_10_mb_is_refused_when_chosen(browser_page, live_server, world, resident, tmp_path):
    compound_id, phone = world.compound_a.id, resident.phone
    db.session.commit()
    page = browser_page
    sign_in(page, live_server, phone)
    page.goto(f"{live_server}/c/{compound_id}/s/neighbours/new")
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff\xd8" + b"\0" * (10 * 1024 * 1024 + 1))
    page.set_input_files("[data-photo-input]", [photo_file(tmp_path), str(big)])
    assert page.locator("[data-photo-previews] .field-error").inner_text() == "“big.jpg”超过10MB，请压缩后重新选择"
    assert page.locator("[data-photo-previews] img").count() == 0
    assert page.eval_on_selector("[data-photo-input]", "input => input.files.length") == 0  # nothing will be sent

    page.set_input_files("[data-photo-input]", photo_file(tmp_path))
    assert page.locator("[data-photo-previews] img").count() == 1
