"""Gammu SMSD: a database created from the table layout of gammu-smsd-tables(7) (SQLite backend).

The worker reads new inbox rows, files each exactly once, marks them Processed and writes the
replies (long ones as concatenated parts with UDH) to the outbox, where gammu-smsd picks them up.
"""
import datetime as dt
import os
import re
import sqlite3

import pytest

from aduan.db import database
from aduan.jobs import Worker
from aduan.models import Complaint
from aduan.testing import auth

# The tables gammu-smsd reads and writes (schema version 17+ as documented in gammu-smsd-tables(7)).
GAMMU_SCHEMA = """
CREATE TABLE gammu (Version INTEGER NOT NULL DEFAULT 0 PRIMARY KEY);
INSERT INTO gammu (Version) VALUES (17);
CREATE TABLE inbox (
  UpdatedInDB NUMERIC NOT NULL DEFAULT (datetime('now', 'localtime')),
  ReceivingDateTime NUMERIC NOT NULL DEFAULT (datetime('now', 'localtime')),
  Text TEXT NOT NULL,
  SenderNumber TEXT NOT NULL DEFAULT '',
  Coding TEXT NOT NULL DEFAULT 'Default_No_Compression',
  UDH TEXT NOT NULL,
  SMSCNumber TEXT NOT NULL DEFAULT '',
  Class INTEGER NOT NULL DEFAULT -1,
  TextDecoded TEXT NOT NULL DEFAULT '',
  ID INTEGER PRIMARY KEY AUTOINCREMENT,
  RecipientID TEXT NOT NULL,
  Processed TEXT NOT NULL DEFAULT 'false',
  Status INTEGER NOT NULL DEFAULT -1,
  CHECK (Coding IN ('Default_No_Compression','Unicode_No_Compression','8bit','Default_Compression',
                    'Unicode_Compression'))
);
CREATE TABLE outbox (
  UpdatedInDB NUMERIC NOT NULL DEFAULT (datetime('now', 'localtime')),
  InsertIntoDB NUMERIC NOT NULL DEFAULT (datetime('now', 'localtime')),
  SendingDateTime NUMERIC NOT NULL DEFAULT (datetime('now', 'localtime')),
  SendBefore time NOT NULL DEFAULT '23:59:59',
  SendAfter time NOT NULL DEFAULT '00:00:00',
  Text TEXT,
  DestinationNumber TEXT NOT NULL DEFAULT '',
  Coding TEXT NOT NULL DEFAULT 'Default_No_Compression',
  UDH TEXT,
  Class INTEGER DEFAULT -1,
  TextDecoded TEXT NOT NULL DEFAULT '',
  ID INTEGER PRIMARY KEY AUTOINCREMENT,
  MultiPart TEXT NOT NULL DEFAULT 'false',
  RelativeValidity INTEGER DEFAULT -1,
  SenderID TEXT,
  SendingTimeOut NUMERIC NOT NULL DEFAULT (datetime('now', 'localtime')),
  DeliveryReport TEXT DEFAULT 'default',
  CreatorID TEXT NOT NULL,
  Retries INTEGER DEFAULT 0,
  Priority INTEGER DEFAULT 0,
  Status TEXT NOT NULL DEFAULT 'Reserved',
  StatusCode INTEGER NOT NULL DEFAULT -1,
  CHECK (Coding IN ('Default_No_Compression','Unicode_No_Compression','8bit','Default_Compression',
                    'Unicode_Compression')),
  CHECK (DeliveryReport IN ('default','yes','no')),
  CHECK (Status IN ('SendingOK','SendingOKNoReport','SendingError','DeliveryOK','DeliveryFailed',
                    'DeliveryPending','DeliveryUnknown','Error','Reserved'))
);
CREATE TABLE outbox_multipart (
  Text TEXT,
  Coding TEXT NOT NULL DEFAULT 'Default_No_Compression',
  UDH TEXT,
  Class INTEGER DEFAULT -1,
  TextDecoded TEXT DEFAULT NULL,
  ID INTEGER,
  SequencePosition INTEGER NOT NULL DEFAULT 1,
  Status TEXT NOT NULL DEFAULT 'Reserved',
  StatusCode INTEGER NOT NULL DEFAULT -1,
  PRIMARY KEY (ID, SequencePosition)
);
CREATE TABLE sentitems (
  UpdatedInDB NUMERIC NOT NULL DEFAULT (datetime('now', 'localtime')),
  InsertIntoDB NUMERIC NOT NULL DEFAULT (datetime('now', 'localtime')),
  SendingDateTime NUMERIC NOT NULL DEFAULT (datetime('now', 'localtime')),
  DeliveryDateTime NUMERIC NULL,
  Text TEXT NOT NULL,
  DestinationNumber TEXT NOT NULL DEFAULT '',
  Coding TEXT NOT NULL DEFAULT 'Default_No_Compression',
  UDH TEXT NOT NULL,
  SMSCNumber TEXT NOT NULL DEFAULT '',
  Class INTEGER NOT NULL DEFAULT -1,
  TextDecoded TEXT NOT NULL DEFAULT '',
  ID INTEGER,
  SenderID TEXT NOT NULL,
  SequencePosition INTEGER NOT NULL DEFAULT 1,
  Status TEXT NOT NULL DEFAULT 'SendingOK',
  StatusError INTEGER NOT NULL DEFAULT -1,
  TPMR INTEGER NOT NULL DEFAULT -1,
  RelativeValidity INTEGER NOT NULL DEFAULT -1,
  CreatorID TEXT NOT NULL,
  StatusCode INTEGER NOT NULL DEFAULT -1,
  PRIMARY KEY (ID, SequencePosition)
);
"""


# The same tables as gammu-smsd creates them on PostgreSQL (booleans for Processed/MultiPart).
GAMMU_SCHEMA_PG = """
CREATE TABLE inbox (
  "UpdatedInDB" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "ReceivingDateTime" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "Text" text NOT NULL,
  "SenderNumber" varchar(20) NOT NULL DEFAULT '',
  "Coding" varchar(255) NOT NULL DEFAULT 'Default_No_Compression',
  "UDH" text NOT NULL,
  "SMSCNumber" varchar(20) NOT NULL DEFAULT '',
  "Class" integer NOT NULL DEFAULT '-1',
  "TextDecoded" text NOT NULL DEFAULT '',
  "ID" serial PRIMARY KEY,
  "RecipientID" text NOT NULL,
  "Processed" boolean NOT NULL DEFAULT 'false',
  "Status" integer NOT NULL DEFAULT '-1'
);
CREATE TABLE outbox (
  "UpdatedInDB" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "InsertIntoDB" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "SendingDateTime" timestamp NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "SendBefore" time NOT NULL DEFAULT '23:59:59',
  "SendAfter" time NOT NULL DEFAULT '00:00:00',
  "Text" text,
  "DestinationNumber" varchar(20) NOT NULL DEFAULT '',
  "Coding" varchar(255) NOT NULL DEFAULT 'Default_No_Compression',
  "UDH" text,
  "Class" integer DEFAULT '-1',
  "TextDecoded" text NOT NULL DEFAULT '',
  "ID" serial PRIMARY KEY,
  "MultiPart" boolean NOT NULL DEFAULT 'false',
  "RelativeValidity" integer DEFAULT '-1',
  "SenderID" varchar(255),
  "SendingTimeOut" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "DeliveryReport" varchar(10) DEFAULT 'default',
  "CreatorID" text NOT NULL,
  "Retries" integer DEFAULT '0',
  "Priority" integer DEFAULT '0',
  "Status" varchar(255) NOT NULL DEFAULT 'Reserved',
  "StatusCode" integer NOT NULL DEFAULT '-1'
);
CREATE TABLE outbox_multipart (
  "Text" text,
  "Coding" varchar(255) NOT NULL DEFAULT 'Default_No_Compression',
  "UDH" text,
  "Class" integer DEFAULT '-1',
  "TextDecoded" text DEFAULT NULL,
  "ID" serial,
  "SequencePosition" integer NOT NULL DEFAULT '1',
  "Status" varchar(255) NOT NULL DEFAULT 'Reserved',
  "StatusCode" integer NOT NULL DEFAULT '-1',
  PRIMARY KEY ("ID", "SequencePosition")
);
CREATE TABLE sentitems (
  "UpdatedInDB" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "InsertIntoDB" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "SendingDateTime" timestamp(0) WITHOUT time zone NOT NULL DEFAULT LOCALTIMESTAMP(0),
  "DeliveryDateTime" timestamp(0) WITHOUT time zone NULL,
  "Text" text NOT NULL,
  "DestinationNumber" varchar(20) NOT NULL DEFAULT '',
  "Coding" varchar(255) NOT NULL DEFAULT 'Default_No_Compression',
  "UDH" text NOT NULL,
  "SMSCNumber" varchar(20) NOT NULL DEFAULT '',
  "Class" integer NOT NULL DEFAULT '-1',
  "TextDecoded" text NOT NULL DEFAULT '',
  "ID" serial,
  "SenderID" varchar(255) NOT NULL,
  "SequencePosition" integer NOT NULL DEFAULT '1',
  "Status" varchar(255) NOT NULL DEFAULT 'SendingOK',
  "StatusError" integer NOT NULL DEFAULT '-1',
  "TPMR" integer NOT NULL DEFAULT '-1',
  "RelativeValidity" integer NOT NULL DEFAULT '-1',
  "CreatorID" text NOT NULL,
  "StatusCode" integer NOT NULL DEFAULT '-1',
  PRIMARY KEY ("ID", "SequencePosition")
);
"""


class Smsd:
    """The SMSD database seen from the modem's side: what gammu-smsd itself reads and writes."""

    def __init__(self, url, con, pg):
        self.url, self.con, self.pg = url, con, pg

    def q(self, sql, params=()):
        if self.pg:
            sql = re.sub(r"\b(ID|Text|SenderNumber|UDH|TextDecoded|RecipientID|Class|Coding|Processed|"
                         r"DestinationNumber|MultiPart|CreatorID|SenderID|SequencePosition|Status)\b",
                         r'"\1"', sql).replace("?", "%s").replace("'false'", "false")
        cur = self.con.cursor()
        cur.execute(sql, params)
        rows = cur.fetchall() if cur.description else None
        self.con.commit()
        return rows

    def receive(self, sender, text, cls=-1, udh=""):
        """What gammu-smsd does when the modem receives an SMS (one row per part of a long one)."""
        self.q("INSERT INTO inbox (Text, SenderNumber, UDH, TextDecoded, RecipientID, Class, Coding) "
               "VALUES ('', ?, ?, ?, 'smsd-kantor', ?, ?)",
               (sender, udh, text, cls, "Default_No_Compression" if text.isascii() else "Unicode_No_Compression"))

    def processed(self):
        return [r[0] in (True, "true") for r in self.q("SELECT Processed FROM inbox ORDER BY ID")]

    def outbox(self):
        rows = self.q("SELECT ID, DestinationNumber, TextDecoded, Coding, UDH, MultiPart, CreatorID, SenderID "
                      "FROM outbox ORDER BY ID")
        return [(*r[:5], r[5] in (True, "true"), *r[6:]) for r in rows]


@pytest.fixture(params=["sqlite", "postgresql"])
def smsd(request, tmp_path, make_app):  # after make_app: on PostgreSQL it empties the database first
    if request.param == "sqlite":
        path = tmp_path / "smsd.db"
        con = sqlite3.connect(path)
        con.executescript(GAMMU_SCHEMA)
        con.commit()
        yield Smsd(f"sqlite:///{path}", con, False)
    else:
        url = os.environ.get("ADUAN_TEST_DATABASE_URL", "")
        if not url.startswith("postgres"):
            pytest.skip("Gammu on PostgreSQL needs ADUAN_TEST_DATABASE_URL")
        import psycopg2

        con = psycopg2.connect(url)
        con.cursor().execute(GAMMU_SCHEMA_PG)
        con.commit()
        yield Smsd(url, con, True)
    con.close()


def test_inbox_rows_become_complaints_once_and_replies_land_in_the_outbox(sms_app, seed, smsd):
    app = sms_app(SMS_GAMMU_DATABASE_URL=smsd.url, SMS_GAMMU_PHONE_ID="modem1")
    smsd.receive("+6281911112222", "LAPOR Jalan Udayana banjir setiap hujan, saluran tersumbat")
    smsd.receive("081933334444", "Puskesmas Ampenan tutup pada jam kerja")
    smsd.receive("TELKOMSEL", "Paket data murah! Ketik REG ...")  # alphanumeric sender: no complaint, no reply
    smsd.receive("1708", "Terima kasih")  # short code: never answered (no reply storms)
    smsd.receive("+6281911112222", "*123#", cls=127)  # a USSD answer is not a message from a citizen
    counts = Worker(app).run_once()
    assert counts["schedules"] >= 1 and counts["done"] == 2
    with app.app_context(), database.connection_context():
        complaints = list(Complaint.select().order_by(Complaint.id))
        assert [c.channel for c in complaints] == ["sms", "sms"]
        assert [c.status for c in complaints] == ["received", "received"]
        assert complaints[0].body == "Jalan Udayana banjir setiap hujan, saluran tersumbat"
        tids = [c.tracking_id for c in complaints]
    assert smsd.processed() == [True] * 5
    # the two replies are sent side by side (a worker runs jobs concurrently): order by recipient
    out = sorted(smsd.outbox(), key=lambda r: r[1])
    assert [r[1] for r in out] == ["+6281911112222", "+6281933334444"]
    for row, tid in zip(out, tids):
        assert tid in row[2] and re.search(r"kode akses \w{10}", row[2])
        assert row[3] == "Default_No_Compression" and row[5] is False and row[7] == "modem1"
        assert row[6].startswith("aduan-sms:")

    # marking failed after filing (or a second worker saw the row): nothing is filed or sent twice
    smsd.q("UPDATE inbox SET Processed = 'false' WHERE ID = 1")
    from aduan_sms.cli import sms_cli

    result = app.test_cli_runner().invoke(sms_cli, ["poll-gammu"])  # `aduan sms poll-gammu`
    assert result.exit_code == 0 and "duplicates 1" in result.output, result.output
    Worker(app).run_once()
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 2
    assert len(smsd.outbox()) == 2
    assert smsd.processed()[0] is True


def test_notification_goes_to_the_outbox_as_concatenated_parts_and_delivery_is_followed(sms_app, seed, smsd):
    app = sms_app(SMS_GAMMU_DATABASE_URL=smsd.url, SMS_OUTBOUND="gammu", SMS_MAX_SEGMENTS=3)
    client = app.test_client()
    smsd.receive("+6281911112222", "Jembatan gantung di Desa Sesela putus")
    Worker(app).run_once()
    with app.app_context(), database.connection_context():
        tid = Complaint.get().tracking_id
    answer = ("Tim Dinas PUPR sudah meninjau lokasi pada hari Senin. Perbaikan jembatan dijadwalkan mulai "
              "minggu depan dan diperkirakan selesai dalam tiga minggu. Selama perbaikan, warga diminta "
              "memakai jalan desa di sebelah utara. Terima kasih atas laporan Anda.") * 2
    assert client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"agency_id": seed.agency_a.id},
                       headers=auth(seed.coordinator)).status_code == 200
    assert client.post(f"/api/v1/complaints/{tid}/actions/respond", json={"text": answer},
                       headers=auth(seed.officer_a)).status_code == 200
    Worker(app).run_once()
    notify = smsd.outbox()[-1]
    assert notify[5] is True and notify[4].startswith("050003") and notify[4].endswith("01")
    parts = smsd.q("SELECT SequencePosition, TextDecoded, UDH FROM outbox_multipart WHERE ID = ? "
                   "ORDER BY SequencePosition", (notify[0],))
    assert [p[0] for p in parts] == [2, 3]  # kept within SMS_MAX_SEGMENTS = 3
    full = notify[2] + "".join(p[1] for p in parts)
    assert full.startswith(f"NTBCare: Laporan {tid}") and "Tim Dinas PUPR" in full and full.endswith("...")
    assert all(len(p[1]) <= 153 for p in parts) and len(notify[2]) <= 153
    assert all(p[2][:10] == notify[4][:10] and p[2].endswith(f"{p[0]:02X}") for p in parts)

    # gammu-smsd sends it, moves it to sentitems and records the delivery report
    smsd.q("INSERT INTO sentitems (Text, DestinationNumber, UDH, TextDecoded, ID, SenderID, SequencePosition, "
           "Status, CreatorID) VALUES ('', ?, ?, ?, ?, 'modem1', 1, 'DeliveryOK', ?)",
           (notify[1], notify[4], notify[2], notify[0], notify[6]))
    smsd.q("DELETE FROM outbox WHERE ID = ?", (notify[0],))
    from aduan_sms.cli import sms_cli

    assert "delivery states 1" in app.test_cli_runner().invoke(sms_cli, ["poll-gammu"]).output
    log = client.get(f"/api/v1/plugins/sms/complaints/{tid}/messages", headers=auth(seed.coordinator)).json
    notes = [m for m in log if m["command"] == "notify"]
    assert notes[-1]["status"] == "delivered" and notes[-1]["segments"] == 3


def test_a_long_sms_stored_as_parts_is_one_complaint(sms_app, seed, smsd):
    app = sms_app(SMS_GAMMU_DATABASE_URL=smsd.url)
    part1 = "LAPOR Saluran irigasi di Desa Kuripan tersumbat sampah plastik sejak musim hujan dimulai, " \
            "akibatnya sawah warga di sisi timur terendam dan bibit padi mulai membusuk. "
    part2 = "Mohon segera dikirim petugas kebersihan."
    # two parts of one message (8-bit reference 0xA7), and one part of another whose rest has not arrived yet
    smsd.receive("+6281911117777", part2, udh="050003A70202")
    smsd.receive("+6281911117777", part1, udh="050003A70201")
    smsd.receive("+6281911118888", "Ada pungutan liar di", udh="0608040102020" + "1")
    Worker(app).run_once()
    with app.app_context(), database.connection_context():
        assert [c.body for c in Complaint.select()] == [(part1 + part2)[len("LAPOR "):].strip()]
    assert smsd.processed() == [True, True, False]  # the lone part waits for the rest
    smsd.receive("+6281911118888", " kantor desa.", udh="060804010202" + "02")
    from aduan_sms.cli import sms_cli

    app.test_cli_runner().invoke(sms_cli, ["poll-gammu"])
    with app.app_context(), database.connection_context():
        assert Complaint.select().order_by(Complaint.id.desc()).first().body == "Ada pungutan liar di kantor desa."
    assert smsd.processed() == [True] * 4


def test_the_wait_for_missing_parts_survives_a_one_shot_poll(sms_app, seed, smsd):
    """The first sighting of an incomplete concatenated SMS is kept in the database: a later one-shot
    ``aduan sms poll-gammu`` (another process) files what arrived once the wait is over."""
    from aduan_sms.cli import sms_cli
    from aduan_sms.models import SmsGammuWait

    smsd.receive("+6281911119999", "Jembatan gantung di Sembalun", udh="050003B30201")
    app = sms_app(SMS_GAMMU_DATABASE_URL=smsd.url, SMS_GAMMU_MULTIPART_WAIT_SECONDS=600)
    assert "received 0" in app.test_cli_runner().invoke(sms_cli, ["poll-gammu"]).output
    assert smsd.processed() == [False]
    with app.app_context(), database.connection_context():
        assert SmsGammuWait.select().count() == 1
        # ten minutes pass (the row is what a later run reads)
        first = SmsGammuWait.get().first_seen
        SmsGammuWait.update(first_seen=first - dt.timedelta(minutes=11)).execute()
    later = sms_app(SMS_GAMMU_DATABASE_URL=smsd.url, SMS_GAMMU_MULTIPART_WAIT_SECONDS=600)
    assert "received 1" in later.test_cli_runner().invoke(sms_cli, ["poll-gammu"]).output
    assert smsd.processed() == [True]
    with later.app_context(), database.connection_context():
        assert [c.body for c in Complaint.select()] == ["Jembatan gantung di Sembalun"]
        assert SmsGammuWait.select().count() == 0
