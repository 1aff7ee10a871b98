"""Gammu SMSD: a database created from the table layout of gammu-smsd-tables(7) (SQLite backend).

The worker reads new inbox rows, files each exactly once, marks them Processed and writes the
replies (long ones as concatenated parts with UDH) to the outbox, where gammu-smsd picks them up.
"""
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


@pytest.fixture
def smsd(tmp_path):
    path = tmp_path / "smsd.db"
    con = sqlite3.connect(path)
    con.executescript(GAMMU_SCHEMA)
    con.commit()
    yield path, con
    con.close()


def _receive(con, sender, text, cls=-1):
    """What gammu-smsd does when the modem receives an SMS."""
    con.execute("INSERT INTO inbox (Text, SenderNumber, UDH, TextDecoded, RecipientID, Class, Coding) "
                "VALUES ('', ?, '', ?, 'smsd-kantor', ?, ?)",
                (sender, text, cls, "Default_No_Compression" if text.isascii() else "Unicode_No_Compression"))
    con.commit()


def _outbox(con):
    con.commit()
    return con.execute("SELECT ID, DestinationNumber, TextDecoded, Coding, UDH, MultiPart, CreatorID, SenderID "
                       "FROM outbox ORDER BY ID").fetchall()


def test_inbox_rows_become_complaints_once_and_replies_land_in_the_outbox(sms_app, seed, smsd):
    path, con = smsd
    app = sms_app(SMS_GAMMU_DATABASE_URL=f"sqlite:///{path}", SMS_GAMMU_PHONE_ID="modem1")
    _receive(con, "+6281911112222", "LAPOR Jalan Udayana banjir setiap hujan, saluran tersumbat")
    _receive(con, "081933334444", "Puskesmas Ampenan tutup pada jam kerja")
    _receive(con, "TELKOMSEL", "Paket data murah! Ketik REG ...")  # alphanumeric sender: no complaint, no reply
    _receive(con, "1708", "Terima kasih")  # short code: never answered (no reply storms)
    counts = Worker(app).run_once()
    assert counts["schedules"] >= 1 and counts["done"] == 2
    with app.app_context(), database.connection_context():
        complaints = list(Complaint.select().order_by(Complaint.id))
        assert [c.channel for c in complaints] == ["sms", "sms"]
        assert [c.status for c in complaints] == ["received", "received"]
        assert complaints[0].body == "Jalan Udayana banjir setiap hujan, saluran tersumbat"
        tids = [c.tracking_id for c in complaints]
    assert [r[0] for r in con.execute("SELECT Processed FROM inbox ORDER BY ID")] == ["true"] * 4
    out = _outbox(con)
    assert [(r[1]) for r in out] == ["+6281911112222", "+6281933334444"]
    for row, tid in zip(out, tids):
        assert tid in row[2] and re.search(r"kode akses \w{10}", row[2])
        assert row[3] == "Default_No_Compression" and row[5] == "false" and row[7] == "modem1"

    # the worker runs again (or a second worker): nothing is filed or sent twice
    con.execute("UPDATE inbox SET Processed = 'false' WHERE ID = 1")  # e.g. marking failed after filing
    con.commit()
    from aduan_sms.cli import sms_cli

    result = app.test_cli_runner().invoke(sms_cli, ["poll-gammu"])  # `aduan sms poll-gammu`
    assert result.exit_code == 0 and "duplicates 1" in result.output, result.output
    Worker(app).run_once()
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 2
    assert len(_outbox(con)) == 2
    assert con.execute("SELECT Processed FROM inbox WHERE ID = 1").fetchone()[0] == "true"


def test_notification_goes_to_the_outbox_as_concatenated_parts_and_delivery_is_followed(sms_app, seed, smsd):
    path, con = smsd
    app = sms_app(SMS_GAMMU_DATABASE_URL=f"sqlite:///{path}", SMS_OUTBOUND="gammu", SMS_MAX_SEGMENTS=3)
    client = app.test_client()
    _receive(con, "+6281911112222", "Jembatan gantung di Desa Sesela putus")
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
    out = _outbox(con)
    notify = out[-1]
    assert notify[5] == "true" and notify[4].startswith("050003") and notify[4].endswith("01")
    parts = con.execute("SELECT SequencePosition, TextDecoded, UDH FROM outbox_multipart WHERE ID = ? "
                        "ORDER BY SequencePosition", (notify[0],)).fetchall()
    assert [p[0] for p in parts] == [2, 3]  # kept within SMS_MAX_SEGMENTS = 3
    full = notify[2] + "".join(p[1] for p in parts)
    assert full.startswith(f"NTBCare: Laporan {tid}") and "Tim Dinas PUPR" in full and full.endswith("...")
    assert all(len(p[1]) <= 153 for p in parts) and len(notify[2]) <= 153
    assert all(p[2][:10] == notify[4][:10] and p[2].endswith(f"{p[0]:02X}") for p in parts)

    # gammu-smsd sends it, moves it to sentitems and records the delivery report
    con.execute("INSERT INTO sentitems (Text, DestinationNumber, UDH, TextDecoded, ID, SenderID, SequencePosition, "
                "Status, CreatorID) VALUES ('', ?, ?, ?, ?, 'modem1', 1, 'DeliveryOK', ?)",
                (notify[1], notify[4], notify[2], notify[0], notify[6]))
    con.execute("DELETE FROM outbox WHERE ID = ?", (notify[0],))
    con.commit()
    from aduan_sms.cli import sms_cli

    assert "delivery states 1" in app.test_cli_runner().invoke(sms_cli, ["poll-gammu"]).output
    log = client.get(f"/api/v1/plugins/sms/complaints/{tid}/messages", headers=auth(seed.coordinator)).json
    notes = [m for m in log if m["command"] == "notify"]
    assert notes[-1]["status"] == "delivered" and notes[-1]["segments"] == 3
