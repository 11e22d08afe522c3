"""议事厅: a proposal on a post, its options, ballots (one per resident or per household), and the
补充说明 added once the question may no longer change."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..board.models import AuthorRole
from ..enums import LabeledEnum, enum_column_type
from ..extensions import db
from ..timeutil import utcnow


class Electorate(LabeledEnum):
    RESIDENTS = ("residents", "每位认证居民一票")
    HOUSEHOLDS = ("households", "每户一票")


class Outcome(LabeledEnum):
    PASSED = ("passed", "已通过")
    REJECTED = ("rejected", "未通过")
    SHELVED = ("shelved", "已搁置")


class Proposal(db.Model):
    __tablename__ = "proposals"
    __table_args__ = (
        sa.CheckConstraint(
            "turnout_threshold IS NULL OR (turnout_threshold > 0 AND turnout_threshold <= 100)",
            name="threshold_percent",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id"), unique=True)
    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("compounds.id"))
    electorate: Mapped[Electorate] = mapped_column(enum_column_type(Electorate))
    deadline_at: Mapped[datetime] = mapped_column(index=True)
    show_tally_early: Mapped[bool] = mapped_column(default=False)
    turnout_threshold: Mapped[int | None]  # percent of eligible voters for the result to count
    ballot_count: Mapped[int] = mapped_column(default=0)
    # Set by `flask deliberation close-due` (or the first read after the deadline): the electorate then.
    closed_at: Mapped[datetime | None]
    eligible_at_close: Mapped[int | None]
    outcome: Mapped[Outcome | None] = mapped_column(enum_column_type(Outcome))
    outcome_note: Mapped[str | None] = mapped_column(sa.Text)
    outcome_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    outcome_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    options: Mapped[list[ProposalOption]] = relationship(
        lazy="selectin", order_by="ProposalOption.position", back_populates="proposal"
    )
    post = relationship("Post")

    def is_open(self, now: datetime | None = None) -> bool:
        return (now or utcnow()) < self.deadline_at


class ProposalOption(db.Model):
    __tablename__ = "proposal_options"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    position: Mapped[int]
    label: Mapped[str] = mapped_column(sa.String(30))
    vote_count: Mapped[int] = mapped_column(default=0)

    proposal: Mapped[Proposal] = relationship(back_populates="options")


class Ballot(db.Model):
    """One row per voter (or per household): the unique key makes a second vote impossible even
    when two requests arrive at once; changing a vote updates the row."""

    __tablename__ = "ballots"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "voter_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"))
    option_id: Mapped[int] = mapped_column(sa.ForeignKey("proposal_options.id"))
    # None once the voter 注销: the ballot still counts (and still holds the household's one vote).
    voter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    voter_key: Mapped[str] = mapped_column(sa.String(24))  # "u<user id>" or "h<household id>"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None]


class ProposalNote(db.Model):
    """补充说明: once someone voted, the question and options stay as they were voted on; a
    correction is appended here, with its author and time, and shown above the tally."""

    __tablename__ = "proposal_notes"
    __table_args__ = (sa.Index("ix_proposal_notes_proposal_created", "proposal_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"))
    compound_id: Mapped[int] = mapped_column(sa.ForeignKey("compounds.id"))  # moves the board version
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    author_role: Mapped[AuthorRole] = mapped_column(enum_column_type(AuthorRole))
    body: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)  # cleaned once, when written
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author = relationship("User")
