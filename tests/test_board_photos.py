"""Photos on posts: checked by content, re-encoded without EXIF/GPS, served only inside the compound;
heavy images decoded within bounded memory; a full or read-only disk loses neither files nor the typed post."""

import errno
import itertools
import os
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
import sqlalchemy as sa
from board_helpers import fake_photos, field_error, image_bytes, make_post, neighbour, signed_in, text_of, upload
from flask import current_app
from PIL import Image

from community_board.board import services
from community_board.board.models import Photo, Post
from community_board.extensions import db

UNRECOGNISED = "无法识别的图片文件，请上传JPG、PNG或WebP照片"
NOT_SAVED = "照片保存失败，请稍后再试或先不带照片发布"


def upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def stored_files() -> set[str]:
    """Every file in the upload directory, half-written ones (under any name) included."""
    return set(os.listdir(upload_dir())) if upload_dir().is_dir() else set()


def compose(client, compound, *files):
    return client.post(
        f"/c/{compound.id}/s/neighbours/new",
        data={"title": "小区的花开了", "body": "拍了几张", "photos": upload(*files)},
    )


def assert_typed_text_kept(response) -> None:
    """The compose page came back with the title and body as typed, saying the photos must be chosen again."""
    page = text_of(response)
    assert response.status_code == 200
    assert 'value="小区的花开了"' in page and "拍了几张</textarea>" in page
    assert "照片需要重新选择" in page


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
    response = compose(
        client,
        world.compound_a,
        ("a.jpg", image_bytes(size=(800, 600))),
        ("b.png", image_bytes("PNG", size=(300, 500), color=(0, 90, 200))),
    )
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


def test_a_file_over_10_mb_is_refused_and_the_text_is_kept(world, resident, login_as):
    before = stored_files()
    big = image_bytes() + b"\0" * (10 * 1024 * 1024)
    response = compose(login_as(resident), world.compound_a, ("small.jpg", image_bytes()), ("big.jpg", big))
    assert field_error(response, "photos") == "单张照片不能超过10MB"
    assert_typed_text_kept(response)
    assert stored_files() == before and post_count() == 0


def test_an_upload_over_the_request_limit_gets_a_page_that_says_to_go_back(world, resident, login_as, monkeypatch):
    monkeypatch.setitem(current_app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)
    response = compose(login_as(resident), world.compound_a, ("big.jpg", image_bytes() + b"\0" * 2 * 1024 * 1024))
    assert response.status_code == 413
    assert "每张不超过10MB" in text_of(response) and "请返回上一页，已填写的文字还在" in text_of(response)
    assert post_count() == 0


@pytest.mark.parametrize("edge", [7000, 12000, 20000])  # over our cap; over Pillow's warning; over its error
def test_a_huge_pixel_image_is_refused(world, resident, login_as, edge):
    bomb = image_bytes("PNG", size=(edge, edge), color=1, mode="1")
    assert len(bomb) < 200_000  # small in bytes
    before = stored_files()
    response = compose(login_as(resident), world.compound_a, ("bomb.png", bomb))
    assert field_error(response, "photos").startswith("照片像素过大")
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


# Heavy but legal images ---------------------------------------------------------------------

# Run in a fresh process, whose peak resident memory (VmHWM; Linux's ru_maxrss would start from the
# parent's) brackets prepare() alone: Pillow allocates image memory where tracemalloc cannot see it.
PEAK_SCRIPT = """
import re, sys
from community_board.board import photos
def peak():
    return int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read())[1]) // 1024
data = open(sys.argv[1], "rb").read()
before = peak()
photo, thumb, width, height = photos.prepare(data)
print(width, height, peak() - before)
"""


def prepare_in_a_fresh_process(path: Path) -> tuple[int, int, int]:
    """(width, height, MB the process's peak memory rose by) for preparing the image at ``path``."""
    result = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(path)], capture_output=True, text=True, check=True)
    width, height, megabytes = map(int, result.stdout.split())
    return width, height, megabytes


def flat_image(path: Path, size: tuple[int, int], fmt: str) -> Path:
    """A one-colour photo: tens of megapixels in a few hundred KB, like the audit's 154 KB PNG."""
    Image.new("RGB", size, (120, 160, 200)).save(path, format=fmt)
    return path


AUDIT_SIZE = (7296, 5440)  # 39.7 megapixels; 159 MB once decoded (Pillow keeps RGB in 4 bytes a pixel)


def test_a_40_megapixel_jpeg_is_decoded_reduced(tmp_path):
    width, height, megabytes = prepare_in_a_fresh_process(flat_image(tmp_path / "40mp.jpg", AUDIT_SIZE, "JPEG"))
    assert (width, height) == (2048, 1527)
    assert megabytes < 100  # well under one full-size decode; four copies took 600


def test_a_16_megapixel_png_is_decoded_once_and_never_copied_at_full_size(tmp_path):
    width, height, megabytes = prepare_in_a_fresh_process(flat_image(tmp_path / "16mp.png", (4000, 4000), "PNG"))
    assert (width, height) == (2048, 2048)
    assert megabytes < 125  # the one decode is 64 MB (109 measured); a full-size copy would add 64 more


@pytest.mark.parametrize(
    ("name", "size", "save_args"),
    [
        ("40mp.png", AUDIT_SIZE, {"format": "PNG"}),
        ("20mp.png", (5000, 4000), {"format": "PNG"}),
        ("10mp.webp", (4000, 2500), {"format": "WEBP"}),
        ("20mp-progressive.jpg", (5000, 4000), {"format": "JPEG", "progressive": True}),
    ],
)
def test_images_that_decode_at_full_size_are_refused_past_their_cap_before_decoding(
    world, resident, login_as, tmp_path, name, size, save_args
):
    path = tmp_path / name
    Image.new("RGB", size, (120, 160, 200)).save(path, **save_args)
    assert path.stat().st_size < 2_000_000  # light files, heavy to decode
    response = compose(login_as(resident), world.compound_a, (name, path.read_bytes()))
    assert field_error(response, "photos").startswith("照片像素过大：这种图片最多")
    assert_typed_text_kept(response)
    assert post_count() == 0


def test_a_large_baseline_jpeg_from_a_phone_camera_is_still_accepted(world, resident, login_as, tmp_path):
    jpeg = flat_image(tmp_path / "48mp.jpg", (8000, 6000), "JPEG").read_bytes()
    response = compose(login_as(resident), world.compound_a, ("camera.jpg", jpeg))
    assert response.status_code == 302 and post_count() == 1


# A full or read-only disk -------------------------------------------------------------------


@pytest.fixture
def disk_fills_after(monkeypatch):
    """disk_fills_after(n): the n+1st write to a file comes up short, the ones after fail with ENOSPC."""

    def fill(writes: int) -> None:
        real_write, calls = os.write, itertools.count()

        def write(descriptor, data):
            call = next(calls)
            if call < writes:
                return real_write(descriptor, data)
            if call == writes:
                return real_write(descriptor, bytes(data)[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "write", write)

    return fill


@pytest.fixture
def upload_dir_unavailable(monkeypatch, tmp_path):
    """UPLOAD_DIR cannot be created (as on a read-only disk; root can write anywhere, so its parent is a file)."""
    (tmp_path / "not-a-directory").write_text("")
    monkeypatch.setitem(current_app.config, "UPLOAD_DIR", str(tmp_path / "not-a-directory" / "uploads"))


def test_a_disk_that_fills_midway_leaves_no_file_and_keeps_the_typed_post(world, resident, login_as, disk_fills_after):
    client = login_as(resident)
    before = stored_files()
    disk_fills_after(3)  # the first photo and its thumbnail fit, the second photo does not
    response = compose(client, world.compound_a, *[(f"{i}.jpg", image_bytes(size=(400, 300))) for i in range(3)])
    assert field_error(response, "photos") == NOT_SAVED
    assert_typed_text_kept(response)
    assert stored_files() == before and post_count() == 0 and photos() == []


def test_an_unexpected_error_after_the_photos_are_written_removes_them(world, resident, login_as, monkeypatch):
    client = login_as(resident)
    before = stored_files()

    def broken(*_args):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "create_post", broken)
    response = compose(client, world.compound_a, ("a.jpg", image_bytes()))
    assert response.status_code == 500
    assert stored_files() == before and post_count() == 0


def test_a_text_only_post_needs_no_upload_directory(world, resident, login_as, upload_dir_unavailable):
    response = login_as(resident).post(
        f"/c/{world.compound_a.id}/s/neighbours/new", data={"title": "小区的花开了", "body": "拍了几张"}
    )
    assert response.status_code == 302 and post_count() == 1


def test_photos_on_an_unwritable_disk_keep_the_typed_post(world, resident, login_as, upload_dir_unavailable):
    response = compose(login_as(resident), world.compound_a, ("a.jpg", image_bytes()))
    assert field_error(response, "photos") == NOT_SAVED
    assert_typed_text_kept(response)
    assert post_count() == 0


def test_a_photo_missing_from_disk_is_a_404(world, resident, upload_dir_unavailable):
    post = make_post(resident, world.compound_a, "neighbours", photos=fake_photos(1))
    [photo] = photos()
    assert photo.post_id == post.id
    assert signed_in(resident).get(f"/photos/{photo.id}").status_code == 404
