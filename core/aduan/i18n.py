"""Citizen-facing labels and messages, Indonesian by default, English available.

Plugins reuse these so that a status reads the same on the web, by SMS and by email.
"""
from __future__ import annotations

STATUS_LABELS = {
    "id": {
        "received": "Belum terverifikasi", "dispatched": "Terverifikasi", "in_progress": "Dalam proses",
        "on_hold": "Tunda", "resolved": "Selesai", "closed": "Ditutup", "rejected": "Ditolak",
        "archived": "Diarsipkan",
    },
    "en": {
        "received": "Not yet verified", "dispatched": "Verified", "in_progress": "In progress",
        "on_hold": "On hold", "resolved": "Resolved", "closed": "Closed", "rejected": "Rejected",
        "archived": "Archived",
    },
}

KIND_LABELS = {
    "id": {"pengaduan": "Pengaduan", "aspirasi": "Aspirasi", "permintaan_informasi": "Permintaan informasi"},
    "en": {"pengaduan": "Complaint", "aspirasi": "Aspiration", "permintaan_informasi": "Information request"},
}

URGENCY_LABELS = {
    "id": {"mendesak": "Mendesak", "penting": "Penting", "biasa": "Biasa"},
    "en": {"mendesak": "Urgent", "penting": "Important", "biasa": "Normal"},
}

ACTION_LABELS = {
    "id": {
        "file": "Laporan diterima", "verify": "Diverifikasi dan didisposisikan", "transfer": "Dialihkan (bukan wewenang)",
        "start": "Mulai diproses", "respond": "Tanggapan", "hold": "Ditunda: menunggu pelapor",
        "resume": "Dilanjutkan", "resolve": "Selesai ditindaklanjuti", "close": "Ditutup", "reopen": "Dibuka kembali",
        "reject": "Ditolak", "archive": "Diarsipkan", "rate": "Penilaian", "comment": "Catatan",
        "reply": "Balasan pelapor", "sla_breach": "Melewati batas waktu", "external": "Tindak lanjut",
    },
    "en": {
        "file": "Report received", "verify": "Verified and dispatched", "transfer": "Transferred (not our authority)",
        "start": "Work started", "respond": "Response", "hold": "On hold: waiting for the reporter",
        "resume": "Resumed", "resolve": "Resolved", "close": "Closed", "reopen": "Reopened",
        "reject": "Rejected", "archive": "Archived", "rate": "Rating", "comment": "Note",
        "reply": "Reporter's reply", "sla_breach": "Deadline missed", "external": "Follow-up",
    },
}


def _pick(table, key, lang):
    return table.get(lang if lang in table else "id", {}).get(key, key)


def status_label(status: str, lang: str = "id") -> str:
    return _pick(STATUS_LABELS, status, lang)


def action_label(action: str, lang: str = "id") -> str:
    return _pick(ACTION_LABELS, action, lang)


def kind_label(kind: str, lang: str = "id") -> str:
    return _pick(KIND_LABELS, kind, lang)


def urgency_label(urgency: str, lang: str = "id") -> str:
    return _pick(URGENCY_LABELS, urgency, lang)
