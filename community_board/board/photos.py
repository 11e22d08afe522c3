"""Photo uploads: checked by content, re-encoded without EXIF/GPS, stored outside static/.

All of this runs before the database transaction starts: image work must not hold SQLite's
write lock.
"""
from __future__ import annotations

import secrets
import warnings
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ValidationError

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel photo is fine; a decompression bomb is not
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})
LONG_EDGE = 2048
THUMB_SIZE = (360, 360)
MAX_PHOTOS = 9


@dataclass
class StoredPhoto:
    file_name: str
    thumb_name: str
    width: int
    height: int


def upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _open_checked(data: bytes) -> Image.Image:
    if len(data) > MAX_BYTES:
        raise ValidationError("单张照片不能超过10MB", "photos")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            probe = Image.open(BytesIO(data))
            if probe.format not in ACCEPTED_FORMATS:
                raise ValidationError("只支持JPG、PNG、WebP格式的照片", "photos")
            if probe.width * probe.height > MAX_PIXELS:
                raise ValidationError("照片像素过大，请压缩后再上传", "photos")
            probe.verify()
            image = Image.open(BytesIO(data))
            image.load()
        except ValidationError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValidationError("照片像素过大，请压缩后再上传", "photos") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise ValidationError("无法识别的图片文件，请上传JPG、PNG或WebP照片", "photos") from None
    return image


def _encode(image: Image.Image) -> bytes:
    image.info.clear()  # comments, ICC and other metadata the encoder would carry over
    buffer = BytesIO()
    image.save(buffer, format="JPEG", quality=85, optimize=True)  # no exif= argument: metadata is dropped
    return buffer.getvalue()


def prepare(data: bytes) -> tuple[bytes, bytes, int, int]:
    """Check an upload and return (photo JPEG, thumbnail JPEG, width, height)."""
    image = _open_checked(data)
    image = ImageOps.exif_transpose(image)  # keep the photo upright once EXIF is gone
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, "white")
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    image = image.convert("RGB")
    image.thumbnail((LONG_EDGE, LONG_EDGE))
    thumb = ImageOps.fit(image, THUMB_SIZE)
    return _encode(image), _encode(thumb), image.width, image.height


def store_uploads(files) -> list[StoredPhoto]:
    """Check and store every uploaded file (werkzeug FileStorage); on any error nothing stays on disk."""
    files = [f for f in files if f and f.filename]
    if len(files) > MAX_PHOTOS:
        raise ValidationError(f"最多上传{MAX_PHOTOS}张照片", "photos")
    return store_images([f.read() for f in files])


def store_images(images: list[bytes]) -> list[StoredPhoto]:
    prepared = [prepare(data) for data in images]
    stored: list[StoredPhoto] = []
    directory = upload_dir()
    for photo, thumb, width, height in prepared:
        name = secrets.token_hex(16)
        (directory / f"{name}.jpg").write_bytes(photo)
        (directory / f"{name}_t.jpg").write_bytes(thumb)
        stored.append(StoredPhoto(f"{name}.jpg", f"{name}_t.jpg", width, height))
    return stored


def discard(stored: list[StoredPhoto]) -> None:
    """Remove files of a post that was not saved."""
    directory = upload_dir()
    for photo in stored:
        for name in (photo.file_name, photo.thumb_name):
            (directory / name).unlink(missing_ok=True)
