from tests.factories import make_thread


async def test_latest_page_lists_threads(client, db):
    async with db.begin() as s:
        await make_thread(s, title="환불 받을 수 있나요?")
    r = await client.get("/")
    assert r.status_code == 200
    assert "환불 받을 수 있나요?" in r.text
