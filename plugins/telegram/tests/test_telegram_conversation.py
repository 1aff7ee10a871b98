"""The whole conversation on Telegram: /start, a report written over several messages (text, a photo,
a location, a category from the inline keyboard, Send), CEK, an officer answers over HTTP and the
reporter's chat is told through the Bot API stand-in, BALAS, /stop."""
import re

from aduan.db import database
from aduan.jobs import Worker
from aduan.models import Attachment, Complaint, Contact, Event
from aduan.testing import auth


def test_full_conversation(tg_app, seed, bot, updates, tg):
    app = tg_app()
    client = app.test_client()
    worker = Worker(app)

    def say(update):
        r = tg.post(client, update)
        assert r.status_code == 200, r.json
        worker.run_once()
        return bot.sent()[-1]

    first = say(updates.text("/start"))
    assert first["chat_id"] == tg.CHAT and "LAPOR" in first["text"]

    m = say(updates.text("/lapor Jalan berlubang besar di depan SDN 2 Cakranegara, sudah dua motor jatuh."))
    assert "Tersimpan di laporan Anda: teks" in m["text"]
    keys = [b["callback_data"] for row in m["reply_markup"]["inline_keyboard"] for b in row]
    assert keys == ["cat:jalan", "send", "cancel"]

    bot.files["AgACAgQAAxkBAAIB"] = tg.JPEG
    m = say(updates.photo("AgACAgQAAxkBAAIB", caption="Ini fotonya"))
    assert "1 berkas" in m["text"]
    m = say(updates.location(-8.5833, 116.1167))
    assert "lokasi" in m["text"]
    r = tg.post(client, updates.callback("cat:jalan"))
    assert r.json == {"method": "answerCallbackQuery", "callback_query_id": r.json["callback_query_id"]}
    worker.run_once()
    assert "kategori Jalan" in bot.sent()[-1]["text"]
    assert "inline_keyboard" in bot.sent()[-1]["reply_markup"]  # Send / Cancel remain
    tg.post(client, updates.callback("send"))
    worker.run_once()  # the reply, and the photo fetched from the Bot API
    worker.run_once()
    filed = [s["text"] for s in bot.sent() if "No. lacak" in s["text"]][-1]
    tid = re.search(r"lacak (\w{8}), kode akses (\w{10})", filed).group(1)
    with app.app_context(), database.connection_context():
        c = Complaint.get(Complaint.tracking_id == tid)
        assert c.channel == "telegram" and c.category.code == "jalan"
        assert (round(c.lat, 4), round(c.lng, 4)) == (-8.5833, 116.1167)
        assert c.body.startswith("Jalan berlubang besar") and "Ini fotonya" in c.body
        assert c.reporter.name == "Baiq" and c.reporter.phone is None
        att = Attachment.get(Attachment.complaint == c)
        assert att.content_type == "image/jpeg" and att.size == len(tg.JPEG)
    assert ("getFile", {"file_id": "AgACAgQAAxkBAAIB"}) in bot.calls

    m = say(updates.text(f"/cek {tid.lower()}"))
    assert m["text"] == f"Laporan {tid}: Belum terverifikasi."

    assert client.post(f"/api/v1/complaints/{tid}/actions/verify", json={}, headers=auth(seed.coordinator)).status_code == 200
    answer = "Tim PUPR akan menambal jalan pada hari Kamis."
    assert client.post(f"/api/v1/complaints/{tid}/actions/respond", json={"text": answer},
                       headers=auth(seed.officer_a)).status_code == 200
    before = len(bot.sent())
    assert worker.run_once()["done"] == 2
    notes = [s["text"] for s in bot.sent()[before:]]
    assert len(notes) == 2 and all(s.startswith(f"Laporan {tid}:") for s in notes)
    assert answer in notes[1] and "WITA" in notes[1]  # the time, in the deployment's zone, with its name

    m = say(updates.text(f"/balas {tid} Terima kasih, lubangnya dekat tiang listrik."))
    assert "Balasan Anda" in m["text"]
    with app.app_context(), database.connection_context():
        ev = Event.get((Event.type == "reply") & (Event.source == "telegram"))
        assert ev.text.startswith("Terima kasih")

    m = say(updates.text("/stop"))
    assert "tidak akan menerima pemberitahuan Telegram" in m["text"]
    before = len(bot.sent())
    client.post(f"/api/v1/complaints/{tid}/actions/resolve", json={"text": "Sudah ditambal."},
                headers=auth(seed.officer_a))
    worker.run_once()
    assert len(bot.sent()) == before  # opted out: nothing sent
    log = client.get(f"/api/v1/plugins/telegram/complaints/{tid}/messages", headers=auth(seed.officer_a)).json
    assert log and {m["status"] for m in log} <= {"processed", "sent"} and log[0]["chat_id"] == str(tg.CHAT)
    assert client.get(f"/api/v1/plugins/telegram/complaints/{tid}/messages",
                      headers=auth(seed.officer_b)).status_code == 404
    staff = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.coordinator)).json
    assert staff["extra"]["telegram"]["messages"] >= 8


def test_english_speakers_and_a_dropped_draft(tg_app, seed, bot, updates, tg):
    app = tg_app()
    client = app.test_client()
    worker = Worker(app)
    tg.post(client, updates.text("REPORT street lamp broken near Senggigi beach"))
    worker.run_once()
    assert bot.sent()[-1]["text"].startswith("Saved in your report: text")
    tg.post(client, updates.text("CANCEL"))
    worker.run_once()
    assert bot.sent()[-1]["text"] == "Your unfinished report was dropped."
    tg.post(client, updates.text("SEND"))
    worker.run_once()
    assert "no report being written" in bot.sent()[-1]["text"]
    tg.post(client, updates.sticker())
    worker.run_once()
    assert "cannot be used in a report" in bot.sent()[-1]["text"]
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 0
        assert Contact.get(Contact.channel == "telegram").language == "en"


def test_bot_api_errors_are_handled(tg_app, seed, bot, updates, tg):
    app = tg_app()
    client = app.test_client()
    worker = Worker(app)
    bot.fail_next = [(429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
                            "parameters": {"retry_after": 7}})]
    tg.post(client, updates.text("/start"))
    counts = worker.run_once()
    assert counts["retry"] == 1
    with app.app_context(), database.connection_context():
        from aduan.models import Job
        import datetime as dt

        job = Job.get(Job.kind == "telegram.send")
        assert job.status == "pending" and "Bot API flood control" in job.last_error
        wait = (job.run_at - job.updated_at).total_seconds()
        assert 6 <= wait <= 8  # exactly Telegram's retry_after, not a blind back-off
        Job.update(run_at=job.run_at - dt.timedelta(seconds=10)).where(Job.id == job.id).execute()
    assert worker.run_once()["done"] == 1
    # the citizen blocked the bot: no retries, and no more notifications to that chat
    bot.fail_next = [(403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})]
    tg.post(client, updates.text("/cek ABCD2345"))
    assert worker.run_once()["dead"] == 1
    with app.app_context(), database.connection_context():
        assert Contact.get(Contact.channel == "telegram").opted_out is True


def test_an_abandoned_draft_is_dropped_by_housekeeping(tg_app, seed, bot, updates, tg):
    import datetime as dt

    from aduan.builtin import _housekeeping

    app = tg_app()
    client = app.test_client()
    tg.post(client, updates.text("/lapor Drainase tersumbat di Jl. Sriwijaya"))
    with app.app_context(), database.connection_context():
        c = Contact.get(Contact.channel == "telegram")
        assert c.state["draft"]["body"] == "Drainase tersumbat di Jl. Sriwijaya"
        c.state_updated_at = c.state_updated_at - dt.timedelta(hours=25)
        c.save()
        _housekeeping(app)
        assert Contact.get(Contact.channel == "telegram").state is None
    tg.post(client, updates.text("KIRIM"))
    Worker(app).run_once()
    assert "no report" in bot.sent()[-1]["text"] or "Tidak ada laporan" in bot.sent()[-1]["text"]
