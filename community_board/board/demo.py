"""Demo board content for `flask seed-demo`: posts, replies, likes and drawn photos."""
from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import sqlalchemy as sa
from PIL import Image, ImageDraw

from ..extensions import db
from ..timeutil import utcnow
from . import services
from .models import AidStatus, AuthorRole, BulletinKind, Post, Section, TradeStatus
from .photos import store_images

GUIDE_TOPICS = (("居住证", "证件办理"), ("社保卡", "证件办理"), ("津贴", "养老服务"), ("养老金", "养老服务"),
                ("护理", "养老服务"))


def guide_topic(title: str) -> str:
    return next((topic for word, topic in GUIDE_TOPICS if word in title), "便民服务")


def bulletin_kind(title: str) -> BulletinKind:
    if "诈" in title or "骗" in title:
        return BulletinKind.FRAUD
    if "寻" in title:
        return BulletinKind.MISSING
    return BulletinKind.SAFETY


def draw_item(shape: str, color: str) -> bytes:
    """A simple product photo: the item drawn on a soft background."""
    image = Image.new("RGB", (800, 800), "#f4efe6")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 620, 800, 800), fill="#e2d9c8")
    shapes = {
        "chair": lambda: (draw.rectangle((260, 180, 540, 440), fill=color), draw.rectangle((240, 440, 560, 500), fill=color),
                          draw.rectangle((260, 500, 290, 700), fill=color), draw.rectangle((510, 500, 540, 700), fill=color)),
        "box": lambda: (draw.rectangle((220, 300, 580, 660), fill=color), draw.line((220, 380, 580, 380), fill="#fff", width=8)),
        "bike": lambda: (draw.ellipse((130, 430, 350, 650), outline=color, width=18), draw.ellipse((450, 430, 670, 650), outline=color, width=18),
                         draw.line((240, 540, 400, 380, 560, 540, 240, 540), fill=color, width=16)),
        "lamp": lambda: (draw.polygon([(300, 200), (500, 200), (560, 360), (240, 360)], fill=color),
                         draw.rectangle((390, 360, 410, 620), fill="#555"), draw.rectangle((320, 620, 480, 650), fill="#555")),
        "book": lambda: (draw.rectangle((250, 220, 550, 640), fill=color), draw.rectangle((270, 240, 290, 620), fill="#fff")),
        "plant": lambda: (draw.ellipse((250, 150, 550, 450), fill=color), draw.polygon([(300, 450), (500, 450), (470, 660), (330, 660)], fill="#b5651d")),
        "toy": lambda: (draw.ellipse((280, 200, 520, 440), fill=color), draw.ellipse((230, 400, 570, 680), fill=color)),
        "table": lambda: (draw.rectangle((160, 330, 640, 380), fill=color), draw.rectangle((200, 380, 230, 660), fill=color),
                          draw.rectangle((570, 380, 600, 660), fill=color)),
    }
    shapes.get(shape, shapes["box"])()
    buffer = BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def seed_board(compounds: dict, users_by_phone: dict) -> int:
    """Add the demo posts of each compound that has none yet; returns how many were added."""
    from .demo_content import (
        DEMO_POSTS,  # a large data module, loaded only when seeding
    )

    sections = {s.key: s for s in db.session.scalars(sa.select(Section))}
    added = 0
    now = utcnow()
    for compound_name, posts in DEMO_POSTS.items():
        compound = compounds[compound_name]
        if db.session.scalar(sa.select(Post.id).where(Post.compound_id == compound.id).limit(1)):
            continue  # already seeded: running twice adds nothing
        people = [u for u in users_by_phone.values() if (u.compound_id == compound.id and u.is_verified_resident)
                  or any(a.compound_id == compound.id for a in u.assignments)]
        secretary = next(u for u in people if any(a.compound_id == compound.id and a.role.value == "secretary"
                                                   for a in u.assignments))
        for spec in posts:
            author = users_by_phone[spec["author"]]
            photo = spec.get("photo")
            stored = store_images([draw_item(photo["shape"], photo["color"])]) if photo else []
            draft = services.PostDraft(
                title=spec["title"], body=spec["body"],
                price_yuan=str(spec["price_yuan"]) if spec.get("price_yuan") is not None else None,
                is_free=bool(spec.get("free")), condition=spec.get("condition"), aid_kind=spec.get("aid_kind"),
                topic=guide_topic(spec["title"]) if spec["section"] == "guide" else None,
                # 吴淞新城's guides serve the whole street (淞南一村 reads them too).
                shared_with_street=spec["section"] == "guide" and compound_name == "吴淞新城",
            )
            post = services.create_post(author, compound, sections[spec["section"]], draft, stored)
            post.created_at = now - timedelta(hours=spec["hours_ago"])
            for phone, text, hours_after in spec.get("replies", []):
                reply = services.add_reply(users_by_phone[phone], post, text)
                reply.created_at = min(post.created_at + timedelta(hours=hours_after), now)
                if post.first_answer_at is not None and post.first_answer_at > reply.created_at:
                    post.first_answer_at = reply.created_at  # the dated-back police answer
                    post.first_answer_minutes = int((reply.created_at - post.created_at).total_seconds() // 60)
            for liker in people[: spec.get("likes", 0)]:
                services.toggle_like(liker, post)
            if spec.get("trade_status") and spec["trade_status"] != "available":
                post.trade_status = TradeStatus(spec["trade_status"])
            if spec.get("aid_status") == AidStatus.FULFILLED.value:
                services.mark_aid_fulfilled(author, post)
            if spec.get("pinned"):
                services.set_pinned(secretary, post, True)
            if spec["section"] == "police" and post.author_role is AuthorRole.POLICE:
                post.bulletin_kind = bulletin_kind(spec["title"])
            added += 1
        db.session.flush()
    return added
