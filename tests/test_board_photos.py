"""Photos on posts: checked by content, re-encoded without EXIF/GPS, served only inside the compound."""
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa
from board_helpers import field_error, image_bytes, neighbour, signed_in, upload
from flask import current_app
from PIL import Image

from community_board.board import services
from community_board.board.models import Photo, Post
from community_board.extensions import db

UNRECOGNISED = "无法识别的图片文件，请上传JPG、PNG或WebP照片"
TOO_MANY_PIXELS = "照片像素过大，请压缩后再上传"


def upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def stored_files() -> set[str]:
    return {p.name for p in upload_dir().glob("*")} if upload_dir().exists() else set()


def compose(client, compound, *files):
    return client.post(f"/c/{compound.id}/s/neighbours/new",
                       data={"title": "小区的花开了", "body": "拍了几张", "photos": upload(*files)})


def photos() -> list[Photo]:
    return list(db.session.scalars(sa.select(Photo).order_by(Photo.position)))


def post_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Post))


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "HUAWEI"  # camera make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (31.0, 14.0, 0.0), "E", (121.0, 29.0, 0.0)
    return exif


@pytest.fixture
def posted_photo(world, resident):
    """A post by 周丽 in compound A with one real photo, uploaded over HTTP."""
    response = compose(signed_in(resident), world.compound_a, ("flowers.jpg", image_bytes(size=(800, 600))))
    assert response.status_code == 302
    [photo] = photos()
    return photo


def test_upload_stores_photos_and_serves_the_thumbnail(world, resident, login_as):
    client = login_as(resident)
    response = compose(client, world.compound_a, ("a.jpg", image_bytes(size=(800, 600))),
                       ("b.png", image_bytes("PNG", size=(300, 500), color=(0, 90, 200))))
    assert response.status_code == 302
    first, second = photos()
    assert (first.width, first.height, second.width, second.height) == (800, 600, 300, 500)
    assert db.session.get(Post, first.post_id).photo_count == 2

    thumb = client.get(f"/photos/{first.id}/thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert Image.open(BytesIO(thumb.data)).format == "JPEG"
    full = client.get(f"/photos/{second.id}")
    assert Image.open(BytesIO(full.data)).size == (300, 500)
    assert f"/photos/{first.id}/thumb" in client.get(f"/p/{first.post_id}").get_data(as_text=True)


def test_photos_are_served_only_inside_the_compound(world, posted_photo, other_compound_resident, client):
    neighbour_client = signed_in(neighbour(world))
    assert neighbour_client.get(f"/photos/{posted_photo.id}/thumb").status_code == 200
    outsider = signed_in(other_compound_resident)
    assert outsider.get(f"/photos/{posted_photo.id}/thumb").status_code == 404
    assert outsider.get(f"/photos/{posted_photo.id}").status_code == 404
    logged_out = client.get(f"/photos/{posted_photo.id}/thumb")
    assert logged_out.status_code == 302 and "/login" in logged_out.location


def test_gps_and_every_exif_field_are_dropped(world, resident, login_as):
    original = image_bytes("PNG", size=(120, 90), exif=gps_exif().tobytes())
    assert Image.open(BytesIO(original)).getexif().get_ifd(0x8825)[1] == "N"  # the upload does carry GPS
    assert compose(login_as(resident), world.compound_a, ("gps.png", original)).status_code == 302
    [photo] = photos()
    for name in (photo.file_name, photo.thumb_name):
        data = (upload_dir() / name).read_bytes()
        stored = Image.open(BytesIO(data))
        assert stored.format == "JPEG"
        assert "exif" not in stored.info and len(stored.getexif()) == 0
        assert b"Exif" not in data and b"HUAWEI" not in data


def test_exif_rotation_is_applied_before_it_is_dropped(world, resident, login_as):
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the camera was held upright
    original = image_bytes("JPEG", size=(80, 60), exif=exif.tobytes())
    compose(login_as(resident), world.compound_a, ("upright.jpg", original))
    [photo] = photos()
    assert (photo.width, photo.height) == (60, 80)


def test_a_text_file_named_jpg_is_refused(world, resident, login_as):
    before = stored_files()
    response = compose(login_as(resident), world.compound_a, ("holiday.jpg", "这不是图片\n".encode() * 50))
    assert response.status_code == 200
    assert field_error(response, "photos") == UNRECOGNISED
    assert stored_files() == before and post_count() == 0


def test_a_gif_is_refused_by_its_content(world, resident, login_as):
    response = compose(login_as(resident), world.compound_a, ("cat.jpg", image_bytes("GIF", mode="P", color=1)))
    assert field_error(response, "photos") == "只支持JPG、PNG、WebP格式的照片"
    assert post_count() == 0


def test_one_bad_file_among_good_ones_stores_nothing(world, resident, login_as):
    before = stored_files()
    response = compose(login_as(resident), world.compound_a, ("a.jpg", image_bytes()), ("b.jpg", b"GIF89a not really"))
    assert field_error(response, "photos") == UNRECOGNISED
    assert stored_files() == before and post_count() == 0 and photos() == []


def test_a_file_over_10_mb_is_refused(world, resident, login_as):
    before = stored_files()
    big = image_bytes() + b"\0" * (10 * 1024 * 1024)
    response = compose(login_as(resident), world.compound_a, ("big.jpg", big))
    assert field_error(response, "photos") == "单张照片不能超过10MB"
    assert stored_files() == before and post_count() == 0


@pytest.mark.parametrize("edge", [7000, 12000, 20000])  # over our cap; over Pillow's warning; over its error
def test_a_huge_pixel_image_is_refused(world, resident, login_as, edge):
    bomb = image_bytes("PNG", size=(edge, edge), color=1, mode="1")
    assert len(bomb) < 200_000  # small in bytes
    before = stored_files()
    response = compose(login_as(resident), world.compound_a, ("bomb.png", bomb))
    assert field_error(response, "photos") == TOO_MANY_PIXELS
    assert stored_files() == before and post_count() == 0


def test_more_than_nine_photos_are_refused(world, resident, login_as):
    before = stored_files()
    files = [(f"{i}.jpg", image_bytes(size=(20, 20))) for i in range(10)]
    response = compose(login_as(resident), world.compound_a, *files)
    assert field_error(response, "photos") == "最多上传9张照片"
    assert stored_files() == before and post_count() == 0


def test_nine_photos_are_fine(world, resident, login_as):
    files = [(f"{i}.jpg", image_bytes(size=(20, 20))) for i in range(9)]
    assert compose(login_as(resident), world.compound_a, *files).status_code == 302
    assert [p.position for p in photos()] == list(range(9))


def test_photos_of_a_hidden_post_are_gone_for_residents(world, posted_photo, resident, secretary):
    post = db.session.get(Post, posted_photo.post_id)
    services.hide(secretary, post, "涉及他人隐私")
    db.session.commit()
    for viewer in (resident, neighbour(world)):
        client = signed_in(viewer)
        assert client.get(f"/photos/{posted_photo.id}/thumb").status_code == 404
        assert client.get(f"/photos/{posted_photo.id}").status_code == 404
    assert signed_in(secretary).get(f"/photos/{posted_photo.id}/thumb").status_code == 200


def test_photos_of_a_deleted_post_are_gone(world, posted_photo, resident):
    services.delete_post(resident, db.session.get(Post, posted_photo.post_id))
    db.session.commit()
    assert signed_in(neighbour(world)).get(f"/photos/{posted_photo.id}/thumb").status_code == 404
