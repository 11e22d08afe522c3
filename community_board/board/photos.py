"""Photo uploads: checked by content, re-encoded without EXIF/GPS, stored outside static/.

All of this runs before the database transaction starts: image work must not hold SQLite's
write lock. One photo is decoded at a time and never copied at full size: a JPEG is decoded
already reduced (1/2 to 1/8, from its DCT), a PNG or WebP (which cannot be) once, then reduced;
every conversion happens on the reduced image.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import warnings
from contextlib import suppress
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ValidationError

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024
MAX_PHOTOS = 9
# Pixels, checked from the header before anything is decoded. Phones take 12–50 MP baseline JPEGs,
# decoded reduced: a 50 MP one needs ~50 MB. What decodes at full size gets a lower cap: PNG (screen-
# shots; a long one is ~11 MP) and progressive JPEG (libjpeg keeps every coefficient: ~8 bytes a
# pixel) at 16 MP; WebP, whose decoder peaks near 20 bytes a pixel, at 8 MP. So one photo stays under
# ~200 MB on top of a worker, and nine under a few seconds.
MAX_PIXELS = 50_000_000
FULL_DECODE_PIXELS = {"PNG": 16_000_000, "WEBP": 8_000_000, "PROGRESSIVE JPEG": 16_000_000}
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
LONG_EDGE = 2048
THUMB_SIZE = (360, 360)

TOO_LARGE = "单张照片不能超过10MB"
TOO_MANY_PIXELS = "照片像素过大（最多5000万像素），请压缩后再上传"
TOO_MANY_PIXELS_UNREDUCED = "照片像素过大：这种图片最多{megapixels}00万像素，请改用手机相机拍的JPG照片或缩小后再上传"
UNRECOGNISED = "无法识别的图片文件，请上传JPG、PNG或WebP照片"
NOT_SAVED = "照片保存失败，请稍后再试或先不带照片发布"


@dataclass
class StoredPhoto:
    file_name: str
    thumb_name: str
    width: int
    height: int


def upload_dir() -> Path:
    """Where photos are; created only when one is stored (reading needs no writable disk)."""
    return Path(current_app.config["UPLOAD_DIR"])


def _open_checked(data: bytes) -> Image.Image:
    """The image, checked from its header and structure but not decoded yet."""
    if len(data) > MAX_BYTES:
        raise ValidationError(TOO_LARGE, "photos")
    probe = Image.open(BytesIO(data))
    if probe.format not in ACCEPTED_FORMATS:
        raise ValidationError("只支持JPG、PNG、WebP格式的照片", "photos")
    if probe.width * probe.height > MAX_PIXELS:
        raise ValidationError(TOO_MANY_PIXELS, "photos")
    kind = "PROGRESSIVE JPEG" if probe.format == "JPEG" and probe.info.get("progressive") else probe.format
    cap = FULL_DECODE_PIXELS.get(kind)
    if cap is not None and probe.width * probe.height > cap:
        raise ValidationError(TOO_MANY_PIXELS_UNREDUCED.format(megapixels=cap // 1_000_000), "photos")
    probe.verify()
    return Image.open(BytesIO(data))


def _fit_size(width: int, height: int) -> tuple[int, int]:
    """The stored photo's size: within LONG_EDGE, aspect kept."""
    scale = min(1.0, LONG_EDGE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _decode(data: bytes) -> Image.Image:
    """Check an upload and decode it reduced to fit LONG_EDGE, in RGB or L, upright."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = _open_checked(data)
            image.draft(None, _fit_size(*image.size))  # JPEG only: decode at 1/2…1/8 of the size
            image.load()
            if image.mode not in ("RGB", "L", "RGBA", "LA"):
                image = image.convert("RGBA" if image.has_transparency_data else "RGB")  # palette, CMYK, 16-bit
            if max(image.size) >= 2 * LONG_EDGE:
                image = image.reduce(max(image.size) // LONG_EDGE)  # by whole steps; frees the full size
            image.thumbnail((LONG_EDGE, LONG_EDGE))
            ImageOps.exif_transpose(image, in_place=True)  # keep the photo upright once EXIF is gone
        except ValidationError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValidationError(TOO_MANY_PIXELS, "photos") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise ValidationError(UNRECOGNISED, "photos") from None
    if image.mode in ("RGBA", "LA"):
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        image = background
    return image


def _encode(image: Image.Image) -> bytes:
    image.info.clear()  # comments, ICC and other metadata the encoder would carry over
    buffer = BytesIO()
    image.save(buffer, format="JPEG", quality=85, optimize=True)  # no exif= argument: metadata is dropped
    return buffer.getvalue()


def prepare(data: bytes) -> tuple[bytes, bytes, int, int]:
    """Check an upload and return (photo JPEG, thumbnail JPEG, width, height)."""
    image = _decode(data)
    thumb = ImageOps.fit(image, THUMB_SIZE)
    return _encode(image), _encode(thumb), image.width, image.height


def store_uploads(files) -> list[StoredPhoto]:
    """Check and store the uploaded files (werkzeug FileStorage); on any error nothing stays on disk."""
    files = [f for f in files if f and f.filename]
    if len(files) > MAX_PHOTOS:
        raise ValidationError(f"最多上传{MAX_PHOTOS}张照片", "photos")
    if any(_size_of(f) > MAX_BYTES for f in files):  # before any is read or decoded
        raise ValidationError(TOO_LARGE, "photos")
    return store_images(f.read() for f in files)


def _size_of(upload) -> int:
    upload.stream.seek(0, os.SEEK_END)
    size = upload.stream.tell()
    upload.stream.seek(0)
    return size


def store_images(images) -> list[StoredPhoto]:
    """Prepare and write each image (bytes), one at a time, so one decoded photo is in memory at
    once; on any error (a bad image, a full or read-only disk) what this call wrote is removed."""
    prepared = [prepare(data) for data in images]
    if not prepared:
        return []  # a text-only post needs no upload directory
    stored: list[StoredPhoto] = []
    try:
        directory = upload_dir()
        directory.mkdir(parents=True, exist_ok=True)
        for photo, thumb, width, height in prepared:
            name = secrets.token_hex(16)
            stored.append(StoredPhoto(f"{name}.jpg", f"{name}_t.jpg", width, height))
            _write(directory / f"{name}.jpg", photo)
            _write(directory / f"{name}_t.jpg", thumb)
    except OSError as error:
        log.error("Storing a photo failed: %s", errno.errorcode.get(error.errno, error.errno))
        discard(stored)
        raise ValidationError(NOT_SAVED, "photos") from None
    return stored


def _write(path: Path, data: bytes) -> None:
    """Write under a temporary name and rename when complete, so a full disk or a killed worker
    never leaves a truncated photo under a real name."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
            os.fsync(descriptor)  # on disk before the post that shows it is committed
        finally:
            os.close(descriptor)
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)
        raise


def discard(stored: list[StoredPhoto]) -> None:
    """Remove the files of photos whose post was not saved."""
    directory = upload_dir()
    for photo in stored:
        for name in (photo.file_name, photo.thumb_name):
            with suppress(OSError):  # a read-only disk: nothing was written there either
                (directory / name).unlink(missing_ok=True)
