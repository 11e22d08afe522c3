def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "登录" in response.get_data(as_text=True)


def test_resident_sees_own_compound(login_as, resident, world):
    client = login_as(resident)
    assert client.get(f"/c/{world.compound_a.id}").status_code == 200
    assert client.get(f"/c/{world.compound_b.id}").status_code == 404
