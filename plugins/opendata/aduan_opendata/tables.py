"""The published tables and their data dictionary (one definition, used by every output:
the CSV/JSON/Parquet writers, the Table Schemas of ``datapackage.json``, the DCAT catalogue and
the landing page)."""
from __future__ import annotations

from dataclasses import dataclass, field

from aduan.models import KINDS, STATUSES, URGENCIES


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # Table Schema type: string, integer, number, boolean, date, yearmonth
    title: str  # Indonesian label
    id: str  # Indonesian description
    en: str  # English description
    constraints: dict = field(default_factory=dict)

    def table_schema(self) -> dict:
        out = {"name": self.name, "type": self.type, "title": self.title,
               "description": f"{self.id} / EN: {self.en}"}
        if self.type == "date":
            out["format"] = "%Y-%m-%d"
        if self.constraints:
            out["constraints"] = dict(self.constraints)
        return out


@dataclass(frozen=True)
class Table:
    name: str
    title_id: str
    title_en: str
    description_id: str
    description_en: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...] = ()

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def table_schema(self) -> dict:
        out = {"fields": [f.table_schema() for f in self.fields], "missingValues": [""]}
        if self.primary_key:
            out["primaryKey"] = list(self.primary_key)
        return out


_REQ = {"required": True}
_DAYS = {"minimum": 0}


def _enum(values, required=True):
    return {"required": required, "enum": list(values)}


def _code(name, title, id_, en, required=False):
    return Field(name, "string", title, id_, en, {"required": True} if required else {})


REGION = _code("region", "Kode wilayah",
               "Kode wilayah Kemendagri sampai tingkat kecamatan (mis. 52.71.01); kosong bila tidak diisi.",
               "Kemendagri region code down to kecamatan (district), e.g. 52.71.01; empty when unknown.")
REGION_NAME = Field("region_name", "string", "Nama wilayah", "Nama wilayah (kecamatan, kabupaten/kota atau provinsi).",
                    "Name of the region (district, regency/city or province).")
CATEGORY = _code("category", "Kode kategori", "Kode kategori pengaduan.", "Complaint category code.")
CATEGORY_NAME = Field("category_name", "string", "Kategori", "Nama kategori.", "Category name.")
AGENCY = _code("agency", "Kode OPD", "Kode perangkat daerah (OPD/SKPD) yang menangani saat ini.",
               "Code of the government agency (OPD/SKPD) currently handling the complaint.")
AGENCY_NAME = Field("agency_name", "string", "OPD", "Nama perangkat daerah.", "Agency name.")
STATUS = Field("status", "string", "Status",
               "Status saat data diterbitkan: dispatched (terverifikasi), in_progress (dalam proses), on_hold "
               "(tunda), resolved (selesai), closed (ditutup), archived (diarsipkan), received (belum "
               "terverifikasi), rejected (ditolak).",
               "Status when the data was published: dispatched, in_progress, on_hold, resolved, closed, archived, "
               "received (not yet verified), rejected.", _enum(STATUSES))
CHANNEL = Field("channel", "string", "Kanal", "Kanal pengaduan masuk (web, sms, email, whatsapp, lapor, ...).",
                "Channel the complaint came in through (web, sms, email, whatsapp, lapor, ...).", {"required": True})
MONTH = Field("month", "yearmonth", "Bulan", "Bulan pengaduan diterima (zona waktu daerah), YYYY-MM.",
              "Month the complaint was filed (deployment time zone), YYYY-MM.", _REQ)
SUPPRESSED = Field("suppressed", "boolean", "Disembunyikan",
                   "true bila angka sel disembunyikan karena kecil (atau untuk melindungi sel kecil lain); "
                   "angkanya lalu kosong.",
                   "true when the cell's figures are withheld because the cell is small (or to protect another "
                   "small cell); its figures are then empty.", _REQ)

COMPLAINTS = Table(
    "complaints", "Pengaduan (data per pengaduan, anonim)", "Complaints (record level, anonymised)",
    "Satu baris per pengaduan yang telah diverifikasi. Tanpa nama, nomor telepon, e-mail, NIK, isi pengaduan, "
    "lampiran maupun koordinat. Pengaduan rahasia, yang belum diverifikasi dan yang ditolak tidak dimuat.",
    "One row per verified complaint. No names, phone numbers, e-mails, NIK, complaint text, attachments or "
    "coordinates. Secret complaints, unverified ones and rejected ones are left out.",
    (
        Field("public_id", "string", "ID publik",
              "Pengenal publik pengaduan (HMAC), tetap sama antar-terbitan; bukan nomor tiket.",
              "Public id of the complaint (an HMAC), stable across releases; not the tracking id.",
              {"required": True, "unique": True, "pattern": "[0-9a-f]{16}"}),
        Field("created_date", "date", "Tanggal masuk", "Tanggal pengaduan diterima (zona waktu daerah).",
              "Date the complaint was filed (deployment time zone).", _REQ),
        Field("kind", "string", "Jenis", "Jenis: pengaduan, aspirasi, permintaan_informasi.",
              "Kind: complaint (pengaduan), aspiration (aspirasi) or information request.", _enum(KINDS)),
        CATEGORY, CATEGORY_NAME, AGENCY, AGENCY_NAME, REGION, REGION_NAME, CHANNEL,
        Field("urgency", "string", "Urgensi", "Urgensi: mendesak, penting, biasa.",
              "Urgency: mendesak (urgent), penting (important), biasa (normal).", _enum(URGENCIES)),
        STATUS,
        Field("first_response_date", "date", "Tanggal tanggapan pertama",
              "Tanggal tanggapan publik pertama dari petugas.", "Date of the first public answer from staff."),
        Field("first_response_days", "number", "Lama tanggapan pertama (hari)",
              "Hari (desimal, 2 angka) dari pengaduan masuk sampai tanggapan publik pertama.",
              "Days (decimal, 2 places) from filing to the first public answer.", _DAYS),
        Field("first_response_on_time", "boolean", "Tanggapan tepat waktu",
              "Apakah tanggapan pertama diberikan sebelum batas waktu urgensinya; kosong bila belum ditanggapi "
              "dan batas waktunya belum lewat.",
              "Whether the first answer came before its urgency deadline; empty when there is no answer yet and "
              "the deadline has not passed."),
        Field("resolved_date", "date", "Tanggal selesai", "Tanggal jawaban akhir (selesai) diberikan.",
              "Date the final answer (resolution) was given."),
        Field("resolution_days", "number", "Lama penyelesaian (hari)",
              "Hari (desimal, 2 angka) dari pengaduan masuk sampai selesai.",
              "Days (decimal, 2 places) from filing to resolution.", _DAYS),
        Field("resolved_on_time", "boolean", "Selesai tepat waktu",
              "Apakah selesai dalam batas waktu penyelesaian; kosong bila belum selesai dan batasnya belum lewat.",
              "Whether it was resolved within the resolution deadline; empty when not resolved and the deadline "
              "has not passed."),
        Field("sla_met", "boolean", "Sesuai SLA",
              "true bila tidak ada batas waktu (tanggapan, verifikasi, tindak lanjut, penyelesaian) yang terlewati.",
              "true when no deadline (first response, verification, follow-up, resolution) was missed.", _REQ),
        Field("rating", "integer", "Penilaian", "Penilaian pelapor 1 sampai 5; kosong bila belum dinilai.",
              "The reporter's rating from 1 to 5; empty when not rated.", {"minimum": 1, "maximum": 5}),
    ),
    primary_key=("public_id",),
)

MONTHLY = Table(
    "monthly_counts", "Jumlah pengaduan per bulan (agregat)", "Monthly complaint counts (aggregate)",
    "Jumlah seluruh pengaduan (termasuk yang rahasia, belum diverifikasi dan ditolak) per wilayah, bulan, "
    "kategori, status dan kanal, dengan median lama tanggapan dan penyelesaian. Sel kecil disembunyikan; "
    "tidak ada baris total.",
    "Counts of every complaint (secret, unverified and rejected ones included) by region, month, category, "
    "status and channel, with median days to first response and to resolution. Small cells are suppressed; "
    "there are no total rows.",
    (
        REGION, REGION_NAME, MONTH, CATEGORY, STATUS, CHANNEL,
        Field("complaints", "integer", "Jumlah pengaduan", "Jumlah pengaduan; kosong bila disembunyikan.",
              "Number of complaints; empty when suppressed.", {"minimum": 0}),
        SUPPRESSED,
        Field("median_first_response_days", "number", "Median lama tanggapan (hari)",
              "Median hari sampai tanggapan publik pertama, atas pengaduan yang sudah ditanggapi; kosong bila "
              "jumlahnya di bawah ambang.",
              "Median days to the first public answer over the answered complaints; empty when they are fewer "
              "than the threshold.", _DAYS),
        Field("median_resolution_days", "number", "Median lama penyelesaian (hari)",
              "Median hari sampai selesai, atas pengaduan yang sudah selesai; kosong bila jumlahnya di bawah ambang.",
              "Median days to resolution over the resolved complaints; empty when they are fewer than the "
              "threshold.", _DAYS),
    ),
)

REPORT_CARD = Table(
    "agency_report_card", "Rapor OPD (SKPD) per bulan", "Agency report card (rapor SKPD) by month",
    "Per perangkat daerah dan bulan masuk: jumlah pengaduan yang ditangani, yang ditanggapi tepat waktu, "
    "median lama tanggapan, dan kepuasan pelapor. Sel kecil disembunyikan.",
    "Per agency and month of filing: complaints handled, answered on time, median days to the first answer, "
    "and reporter satisfaction. Small cells are suppressed.",
    (
        AGENCY, AGENCY_NAME, MONTH,
        Field("complaints_received", "integer", "Pengaduan diterima",
              "Pengaduan yang masuk pada bulan itu dan kini ditangani OPD ini (termasuk yang rahasia).",
              "Complaints filed that month and now handled by this agency (secret ones included).", {"minimum": 0}),
        Field("answered_on_time", "integer", "Ditanggapi tepat waktu",
              "Pengaduan yang tanggapan pertamanya diberikan sebelum batas waktu urgensinya.",
              "Complaints whose first answer came before the urgency deadline.", {"minimum": 0}),
        Field("median_first_response_days", "number", "Median lama tanggapan (hari)",
              "Median hari sampai tanggapan publik pertama.", "Median days to the first public answer.", _DAYS),
        Field("ratings", "integer", "Jumlah penilaian", "Jumlah penilaian pelapor.", "Number of reporter ratings.",
              {"minimum": 0}),
        Field("rating_average", "number", "Rata-rata penilaian", "Rata-rata penilaian pelapor (1–5).",
              "Average reporter rating (1–5).", {"minimum": 1, "maximum": 5}),
        SUPPRESSED,
    ),
)

TABLES = (COMPLAINTS, MONTHLY, REPORT_CARD)
BY_NAME = {t.name: t for t in TABLES}
