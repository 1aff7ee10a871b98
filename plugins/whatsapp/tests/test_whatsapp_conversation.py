"""The whole conversation on WhatsApp: a report written over several messages (text, a photo, a
location, a category from the list, the Send button), CEK, an officer answers over HTTP and the
notification reaches the Graph API stand-in (inside the 24-hour window as text, outside as the
approved template), status webhooks, BALAS, STOP."""
import datetime as dt
import re

from aduan.db import database
from aduan.jobs import Worker
from aduan.models import Attachment, Complaint, Contact, Event
from aduan.testing import auth
from aduan_whatsapp.models import WhatsappMessage


def test_full_conversation(wa_app, seed, graph, hooks, wa):
    app = wa_app()
    client = app.test_client()
    worker = Worker(app)

    def say(update):
        r = wa.post(client, update)
        assert r.status_code == 200, r.json
        worker.run_once()
        return graph.sent[-1]

    m = say(hooks.text("Lapor: pipa PDAM bocor di Jl. Majapahit, air terbuang sejak kemarin"))
    assert m["to"] == wa.NUMBER and m["type"] == "interactive" and m["interactive"]["type"] == "list"
    rows = m["interactive"]["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == ["cat:jalan", "send", "cancel"]
    assert all(len(r["title"]) <= 24 for r in rows) and len(m["interactive"]["action"]["button"]) <= 20

    graph.media["1003383421387256"] = wa.JPEG
    m = say(hooks.image("1003383421387256", caption="fotonya"))
    assert "1 berkas" in m["interactive"]["body"]["text"]
    m = say(hooks.location(-8.5869, 116.0921, name="Jl. Majapahit", address="Mataram"))
    assert "lokasi" in m["interactive"]["body"]["text"]
    m = say(hooks.row("cat:jalan", "Jalan"))
    assert m["interactive"]["type"] == "button"  # category chosen: Send / Cancel buttons remain
    assert [b["reply"]["id"] for b in m["interactive"]["action"]["buttons"]] == ["send", "cancel"]
    m = say(hooks.button("send", "Kirim"))
    worker.run_once()  # the photo, fetched through the Graph API
    tid, code = re.search(r"lacak (\w{8}), kode akses (\w{10})", m["text"]["body"]).groups()
    with app.app_context(), database.connection_context():
        c = Complaint.get(Complaint.tracking_id == tid)
        assert c.channel == "whatsapp" and c.category.code == "jalan"
        assert (c.lat, c.lng) == (-8.5869, 116.0921) and c.address == "Jl. Majapahit, Mataram"
        assert c.reporter.phone == "+" + wa.NUMBER and c.reporter.name == "Baiq Nurul"
        att = Attachment.get(Attachment.complaint == c)
        assert att.content_type == "image/jpeg" and att.size == len(wa.JPEG)
        # the log never keeps the access code
        assert not any(code in w.body for w in WhatsappMessage.select())

    m = say(hooks.text(f"CEK {tid}"))
    assert m["text"]["body"] == f"Laporan {tid}: Belum terverifikasi."

    assert client.post(f"/api/v1/complaints/{tid}/actions/verify", json={},
                       headers=auth(seed.coordinator)).status_code == 200
    before = len(graph.sent)
    worker.run_once()
    note = graph.sent[before]
    assert note["type"] == "text" and note["text"]["body"].startswith(f"Laporan {tid}: Diverifikasi")
    assert "WITA" in note["text"]["body"]
    # status webhooks move the log forward, never back
    wamid = None
    with app.app_context(), database.connection_context():
        wamid = WhatsappMessage.get(WhatsappMessage.command == "notify").provider_message_id
    for state in ("delivered", "read", "sent"):
        assert wa.post(client, hooks.status(wamid, state)).json["statuses"] == 1
    with app.app_context(), database.connection_context():
        assert WhatsappMessage.get(WhatsappMessage.provider_message_id == wamid).status == "read"

    # 25 hours of silence: the window is closed, the answer goes out as the approved template
    with app.app_context(), database.connection_context():
        Contact.update(last_inbound_at=Contact.last_inbound_at).execute()
        ct = Contact.get(Contact.channel == "whatsapp")
        ct.last_inbound_at = ct.last_inbound_at - dt.timedelta(hours=25)
        ct.save()
    answer = "Petugas PDAM memperbaiki pipa besok pagi."
    assert client.post(f"/api/v1/complaints/{tid}/actions/respond", json={"text": answer},
                       headers=auth(seed.officer_a)).status_code == 200
    before = len(graph.sent)
    worker.run_once()
    tpl = graph.sent[before]
    assert tpl["type"] == "template" and tpl["template"]["name"] == "aduan_status_update"
    assert tpl["template"]["language"] == {"code": "id"}
    params = [p["text"] for p in tpl["template"]["components"][0]["parameters"]]
    assert params[0] == tid and params[2] == "Dalam proses"

    m = say(hooks.text(f"BALAS {tid} Terima kasih, lokasinya di depan toko roti."))
    assert "Balasan Anda" in m["text"]["body"]
    with app.app_context(), database.connection_context():
        assert Event.get((Event.type == "reply") & (Event.source == "whatsapp")).text.startswith("Terima kasih")

    m = say(hooks.text("STOP"))
    assert "tidak akan menerima pemberitahuan WhatsApp" in m["text"]["body"]
    before = len(graph.sent)
    client.post(f"/api/v1/complaints/{tid}/actions/resolve", json={"text": "Sudah diperbaiki."},
                headers=auth(seed.officer_a))
    worker.run_once()
    assert len(graph.sent) == before
    m = say(hooks.text("MULAI"))
    assert "aktif kembali" in m["text"]["body"]

    # staff see the message log with its delivery states; an officer of another agency does not
    log = client.get(f"/api/v1/plugins/whatsapp/complaints/{tid}/messages", headers=auth(seed.coordinator)).json
    assert {"read", "processed"} <= {m["status"] for m in log} and log[0]["address"] == "+" + wa.NUMBER
    assert not any(code in m["body"] for m in log)
    assert any(m["kind"] == "template" for m in log)
    assert client.get(f"/api/v1/plugins/whatsapp/complaints/{tid}/messages",
                      headers=auth(seed.officer_b)).status_code == 404
    assert client.get(f"/api/v1/plugins/whatsapp/complaints/{tid}/messages").status_code == 401


def test_reengagement_error_sends_the_template_instead_of_retrying(wa_app, seed, graph, hooks, wa):
    app = wa_app()
    client = app.test_client()
    worker = Worker(app)
    wa.post(client, hooks.text("LAPOR lampu jalan mati di Jl. Pejanggik"))
    wa.post(client, hooks.text("KIRIM"))
    worker.run_once()
    # the question and the confirmation were both queued before the worker ran, and a worker sends
    # jobs of different complaints side by side: find the confirmation wherever it is
    tid = next(m.group(1) for t in graph.texts() if (m := re.search(r"lacak (\w{8})", t)))
    # Meta's clock says the window is closed although ours does not: error 131047 on the text
    graph.fail_next = [(400, {"error": {"message": "(#131047) Re-engagement message", "type": "OAuthException",
                                        "code": 131047, "error_data": {"messaging_product": "whatsapp",
                                                                       "details": "more than 24 hours"},
                                        "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}})]
    assert client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"agency_id": seed.agency_a.id},
                       headers=auth(seed.coordinator)).status_code == 200
    counts = worker.run_once()
    assert counts["retry"] == 0
    worker.run_once()
    kinds = [b["type"] for b in graph.sent[-2:]]
    assert kinds == ["text", "template"]
    # the same error reported later by a status webhook also falls back to the template, once
    assert client.post(f"/api/v1/complaints/{tid}/actions/comment", json={"text": "Sedang dicek petugas.",
                                                                           "visibility": "public"},
                       headers=auth(seed.coordinator)).status_code == 200
    worker.run_once()
    with app.app_context(), database.connection_context():
        wamid = WhatsappMessage.select().where(WhatsappMessage.command == "notify", WhatsappMessage.kind == "text") \
            .order_by(WhatsappMessage.id.desc()).first().provider_message_id
    for _ in range(2):
        wa.post(client, hooks.status(wamid, "failed", error_code=131047))
    worker.run_once()
    assert [b["type"] for b in graph.sent[-2:]] == ["text", "template"]
    with app.app_context(), database.connection_context():
        failed = WhatsappMessage.get(WhatsappMessage.provider_message_id == wamid)
        assert failed.status == "failed" and "131047" in failed.error


def test_media_beyond_the_core_limits_is_refused_not_retried(wa_app, seed, graph, hooks, wa):
    app = wa_app(ATTACHMENT_MAX_BYTES=100)
    client = app.test_client()
    worker = Worker(app)
    graph.media["2002"] = wa.JPEG  # 322 bytes
    graph.media["2003"] = b"MZ\x90\x00" + b"\x00" * 60  # an executable, whatever its name says
    wa.post(client, hooks.image("2002", caption="Pohon tumbang menutup jalan ke Senaru"))
    wa.post(client, hooks.message("document", {"id": "2003", "mime_type": "application/pdf",
                                               "filename": "surat.pdf", "sha256": "x"}))
    wa.post(client, hooks.button("send", "Kirim"))
    worker.run_once()
    with app.app_context(), database.connection_context():
        from aduan.models import Job

        media = {j.payload["media_id"]: j for j in Job.select().where(Job.kind == "whatsapp.media")}
        assert media["2002"].status == "dead" and "larger than 100 bytes" in media["2002"].last_error
        assert media["2003"].status == "dead" and "application/x-msdownload" in media["2003"].last_error
        c = Complaint.get()
        assert c.body.startswith("Pohon tumbang") and Attachment.select().count() == 0
