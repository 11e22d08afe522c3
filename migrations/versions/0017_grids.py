"""网格 and 一户一档: grids of buildings with their grid workers (staff_assignments.grid_id) and
一格三员, household files (members, tenure, contact phone, care tags from each district's list),
民情日记 visits, the access log of unmasked views, and the 代发 mark on posts and cases; every
existing district gets the default care tags

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 10:00:00

"""

from alembic import op
import sqlalchemy as sa

from community_board.grids.models import DEFAULT_CARE_TAGS


# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "care_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["district_id"], ["districts.id"], name=op.f("fk_care_tags_district_id_districts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_tags")),
        sa.UniqueConstraint("district_id", "name", name=op.f("uq_care_tags_district_id_name")),
    )
    op.create_table(
        "grids",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("public_phone", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["compound_id"], ["compounds.id"], name=op.f("fk_grids_compound_id_compounds")),
        sa.ForeignKeyConstraint(["district_id"], ["districts.id"], name=op.f("fk_grids_district_id_districts")),
        sa.ForeignKeyConstraint(["street_id"], ["streets.id"], name=op.f("fk_grids_street_id_streets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grids")),
        sa.UniqueConstraint("compound_id", "name", name=op.f("uq_grids_compound_id_name")),
    )
    op.create_table(
        "grid_buildings",
        sa.Column("compound_id", sa.Integer(), nullable=False),
        sa.Column("building", sa.String(length=8), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["compound_id"], ["compounds.id"], name=op.f("fk_grid_buildings_compound_id_compounds")
        ),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_grid_buildings_grid_id_grids")),
        sa.PrimaryKeyConstraint("compound_id", "building", name=op.f("pk_grid_buildings")),
    )
    with op.batch_alter_table("grid_buildings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_buildings_grid_id"), ["grid_id"], unique=False)

    op.create_table(
        "household_care_tags",
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("care_tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["care_tag_id"], ["care_tags.id"], name=op.f("fk_household_care_tags_care_tag_id_care_tags")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_household_care_tags_household_id_households")
        ),
        sa.PrimaryKeyConstraint("household_id", "care_tag_id", name=op.f("pk_household_care_tags")),
    )
    with op.batch_alter_table("household_care_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_household_care_tags_care_tag_id"), ["care_tag_id"], unique=False)

    op.create_table(
        "household_files",
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=False),
        sa.Column(
            "tenure", sa.Enum("owner", "tenant", "lodger", name="tenure", native_enum=False, length=24), nullable=True
        ),
        sa.Column("contact_phone", sa.String(length=11), nullable=True),
        sa.Column("care_tagged", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("last_visit_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["compound_id"], ["compounds.id"], name=op.f("fk_household_files_compound_id_compounds")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_household_files_household_id_households")
        ),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_household_files")),
    )
    with op.batch_alter_table("household_files", schema=None) as batch_op:
        batch_op.create_index("ix_household_files_compound_care", ["compound_id", "care_tagged"], unique=False)

    op.create_table(
        "household_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("relation", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_household_members_household_id_households")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_members")),
    )
    with op.batch_alter_table("household_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_household_members_household_id"), ["household_id"], unique=False)

    op.create_table(
        "grid_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "duty",
            sa.Enum("police", "party_member", "building_head", name="gridduty", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_grid_members_grid_id_grids")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_grid_members_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_members")),
        sa.UniqueConstraint("grid_id", "user_id", "duty", name=op.f("uq_grid_members_grid_id_user_id_duty")),
    )
    with op.batch_alter_table("grid_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "household_access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("shown", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_household_access_log_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["compound_id"], ["compounds.id"], name=op.f("fk_household_access_log_compound_id_compounds")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_household_access_log_household_id_households")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household_access_log")),
    )
    with op.batch_alter_table("household_access_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_household_access_household_created", ["household_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_household_access_log_actor_id"), ["actor_id"], unique=False)

    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.Enum("visit", "phone", name="visitkind", native_enum=False, length=24), nullable=False),
        sa.Column("met", sa.String(length=20), nullable=False),
        sa.Column("raised", sa.String(length=500), nullable=False),
        sa.Column("follow_up", sa.String(length=500), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("consent_by_id", sa.Integer(), nullable=True),
        sa.Column("consent_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "post_id IS NULL OR (consent_by_id IS NOT NULL AND consent_at IS NOT NULL)",
            name=op.f("ck_visits_on_behalf_has_consent"),
        ),
        sa.ForeignKeyConstraint(["compound_id"], ["compounds.id"], name=op.f("fk_visits_compound_id_compounds")),
        sa.ForeignKeyConstraint(["consent_by_id"], ["users.id"], name=op.f("fk_visits_consent_by_id_users")),
        sa.ForeignKeyConstraint(["grid_id"], ["grids.id"], name=op.f("fk_visits_grid_id_grids")),
        sa.ForeignKeyConstraint(["household_id"], ["households.id"], name=op.f("fk_visits_household_id_households")),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name=op.f("fk_visits_post_id_posts")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=op.f("fk_visits_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
        sa.UniqueConstraint("post_id", name=op.f("uq_visits_post_id")),
    )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index("ix_visits_grid_visited", ["grid_id", "visited_on", "id"], unique=False)
        batch_op.create_index("ix_visits_household_visited", ["household_id", "visited_on", "id"], unique=False)

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("on_behalf_label", sa.String(length=20), nullable=True))

    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("on_behalf_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("on_behalf_label", sa.String(length=20), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_posts_on_behalf_by_id_users"), "users", ["on_behalf_by_id"], ["id"])

    with op.batch_alter_table("staff_assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("grid_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_staff_assignments_grid_id"), ["grid_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_staff_assignments_grid_id_grids"), "grids", ["grid_id"], ["id"])
        batch_op.create_check_constraint(
            batch_op.f("ck_staff_assignments_grid_within_compound"), "grid_id IS NULL OR compound_id IS NOT NULL"
        )

    tags = sa.table(
        "care_tags",
        sa.column("district_id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("sort_order", sa.Integer),
        sa.column("active", sa.Boolean),
    )
    districts = op.get_bind().execute(sa.text("SELECT id FROM districts ORDER BY id")).scalars().all()
    rows = [
        {"district_id": district_id, "name": name, "sort_order": order, "active": True}
        for district_id in districts
        for order, name in enumerate(DEFAULT_CARE_TAGS, start=1)
    ]
    if rows:
        op.bulk_insert(tags, rows)


def downgrade():
    # Grid workers' roles go with their grids.
    op.execute("DELETE FROM staff_assignments WHERE role = 'grid_worker'")
    with op.batch_alter_table("staff_assignments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_staff_assignments_grid_within_compound"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_staff_assignments_grid_id_grids"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_staff_assignments_grid_id"))
        batch_op.drop_column("grid_id")

    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_posts_on_behalf_by_id_users"), type_="foreignkey")
        batch_op.drop_column("on_behalf_label")
        batch_op.drop_column("on_behalf_by_id")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("on_behalf_label")

    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index("ix_visits_household_visited")
        batch_op.drop_index("ix_visits_grid_visited")

    op.drop_table("visits")
    with op.batch_alter_table("household_access_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_access_log_actor_id"))
        batch_op.drop_index("ix_household_access_household_created")

    op.drop_table("household_access_log")
    with op.batch_alter_table("grid_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_members_user_id"))

    op.drop_table("grid_members")
    with op.batch_alter_table("household_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_members_household_id"))

    op.drop_table("household_members")
    with op.batch_alter_table("household_files", schema=None) as batch_op:
        batch_op.drop_index("ix_household_files_compound_care")

    op.drop_table("household_files")
    with op.batch_alter_table("household_care_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_care_tags_care_tag_id"))

    op.drop_table("household_care_tags")
    with op.batch_alter_table("grid_buildings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_buildings_grid_id"))

    op.drop_table("grid_buildings")
    op.drop_table("grids")
    op.drop_table("care_tags")
