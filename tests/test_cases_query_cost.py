"""Case pages cost a fixed number of SQL statements, however many cases or events they show."""

from board_helpers import fake_photos
from cases_helpers import department_of, event_count, new_case, signed_in, walk
from conftest import page_statements

from community_board.cases import services
from community_board.cases.models import CaseStatus, Priority, Satisfaction
from community_board.compounds.models import DepartmentKind, StaffRole
from community_board.extensions import db

S = CaseStatus
TYPES = ["环境卫生", "市容绿化", "违章搭建", "停车交通", "物业维修", "治安", "邻里纠纷", "其他"]
PRIORITIES = list(Priority)


def street_cases(world, count, start=0):
    """``count`` cases across two compounds of street A, each with its own reporter, type,
    priority and departments: every row has something that could cost a query of its own."""
    compound_c = world.compound(f"泗塘新村{start}", world.street_a)
    db.session.commit()
    filers = {
        world.compound_a.id: world.staff(StaffRole.SECRETARY, world.compound_a, name="李秀英"),
        compound_c.id: world.staff(StaffRole.SECRETARY, compound_c, name="卫东"),
    }
    departments = [world.department(f"部门{start}-{i}", DepartmentKind.OTHER, world.street_a) for i in range(3)]
    for i in range(start, start + count):
        compound = world.compound_a if i % 2 else compound_c
        reporter = world.resident(compound, name="冯敏", building=str(i), room="101")
        new_case(
            filers[compound.id],
            reporter,
            title=f"问题{i:02d}",
            type_name=TYPES[i % len(TYPES)],
            priority=PRIORITIES[i % 3],
            departments=departments[: i % 4],
        )


def test_the_inbox_costs_the_same_for_3_cases_and_for_25(world, grid_worker):
    client = signed_in(grid_worker)
    street_cases(world, 3)
    few = {view: page_statements(client, f"/cases?view={view}") for view in ("open", "all")}
    street_cases(world, 22, start=3)
    many = {view: page_statements(client, f"/cases?view={view}") for view in ("open", "all")}
    assert many == few


def busy_case(world, resident, secretary, dept_staff, extra_events: int, reopened: bool = True):
    """A case in progress with 3 events, plus ``extra_events`` more written by several staff:
    notes, 增派 to more departments, and (``reopened``) a resolution with photos sent back by the resident."""
    department = department_of(dept_staff)
    case = new_case(secretary, resident, title=f"有{3 + extra_events}步的工单", departments=[department])
    walk(case, S.IN_PROGRESS, filer=secretary, worker=dept_staff, department=department, reporter=resident)
    if extra_events:
        written = 0
        if reopened:
            services.resolve(dept_staff, case, "已清理", fake_photos(2))
            services.rate(resident, case, Satisfaction.UNSATISFIED, "没清理干净")
            db.session.commit()
            written = 2
        staff = [
            secretary,
            dept_staff,
            world.staff(StaffRole.COMMITTEE, world.compound_a, name="陈敏"),
            world.staff(StaffRole.GRID_STREET, world.street_a, name="赵磊"),
        ]
        for i in range(4):
            extra = world.department(f"增派部门{i}", DepartmentKind.OTHER, world.street_a)
            worker = world.staff(StaffRole.DEPARTMENT, extra, name=f"员工{i}")
            services.dispatch(secretary, case, [extra])
            services.add_note(worker, case, f"部门{i}已到场")
            staff.append(worker)
            written += 2
        while written < extra_events:
            services.add_note(staff[written % len(staff)], case, f"进展{written}", "内部备注")
            written += 1
        db.session.commit()
    assert case.status is S.IN_PROGRESS and event_count(case) == 3 + extra_events
    return case


def test_a_post_costs_the_same_with_a_case_of_3_events_and_of_20(world, resident, secretary, dept_staff):
    small = busy_case(world, resident, secretary, dept_staff, 0)
    large = busy_case(world, resident, secretary, dept_staff, 17)
    client = signed_in(resident)
    assert page_statements(client, f"/p/{large.post_id}") == page_statements(client, f"/p/{small.post_id}")


def test_the_case_page_costs_the_same_with_3_events_and_with_20(world, resident, secretary, dept_staff):
    # Not reopened: the reporter, shown on the page, must not come for free as one of the actors.
    small = busy_case(world, resident, secretary, dept_staff, 0)
    large = busy_case(world, resident, secretary, dept_staff, 17, reopened=False)
    client = signed_in(secretary)
    assert page_statements(client, f"/cases/{large.id}") == page_statements(client, f"/cases/{small.id}")


def test_the_street_and_district_dashboards_cost_the_same_for_3_cases_and_for_25(world, grid_worker):
    district_worker = world.staff(StaffRole.GRID_DISTRICT, world.district, name="钱程")
    street_client, district_client = signed_in(grid_worker), signed_in(district_worker)
    pages = [
        (street_client, f"/dashboard/street/{world.street_a.id}"),
        (district_client, f"/dashboard/district/{world.district.id}"),
    ]
    street_cases(world, 3)
    few = [page_statements(client, url) for client, url in pages]
    street_cases(world, 22, start=3)
    assert [page_statements(client, url) for client, url in pages] == few
