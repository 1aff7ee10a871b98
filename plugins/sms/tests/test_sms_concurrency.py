"""Per-number limits hold when webhooks of one number arrive at once (the count and the insert are
serialised per contact; on PostgreSQL with ``ADUAN_TEST_DATABASE_URL`` this is a real race)."""
from concurrent.futures import ThreadPoolExecutor

from aduan.db import database
from aduan.models import Complaint
from aduan_sms.models import SmsMessage


def test_thirty_simultaneous_webhooks_from_one_number_keep_both_limits(sms_app, seed, signers):
    app = sms_app(SMS_INBOUND_PER_HOUR=20, SMS_REPLIES_PER_HOUR=10)

    def post(i):
        client = app.test_client()
        r = signers.generic(client, {"from": "+6281907078888", "text": f"LAPOR jalan rusak nomor {i}", "id": f"c-{i}"})
        return r.status_code, r.json["reply"]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(post, range(30)))
    assert [code for code, _ in results] == [200] * 30
    assert sum(1 for _, reply in results if reply) == 10
    with app.app_context(), database.connection_context():
        inbound = [m.status for m in SmsMessage.select().where(SmsMessage.direction == "in")]
        assert inbound.count("processed") == 20 and inbound.count("rate_limited") == 10
        assert Complaint.select().count() == 20
        out = [m.status for m in SmsMessage.select().where(SmsMessage.direction == "out")]
        assert out.count("sent") == 10 and out.count("suppressed") == 10
