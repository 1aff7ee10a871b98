"""Demo data: a believable Nusa Tenggara Barat deployment (provincial agencies, NTB regions,
staff accounts and complaints in every state). Used by ``aduan demo`` and ``make run``."""
from __future__ import annotations

import datetime as dt
import random

from flask import current_app

from .auth import LEGACY_SCOPES, create_token
from .passwords import PASSWORD_ROLES, set_password, temporary_password
from .db import database, utcnow
from .models import Agency, Category, Complaint, Region, User
from .regions import load_regions

AGENCIES = [
    ("DISKOMINFOTIK", "Dinas Komunikasi, Informatika dan Statistik Provinsi NTB", "diskominfotik@ntbprov.go.id"),
    ("PUPR", "Dinas Pekerjaan Umum dan Penataan Ruang Provinsi NTB", "pupr@ntbprov.go.id"),
    ("DIKES", "Dinas Kesehatan Provinsi NTB", "dikes@ntbprov.go.id"),
    ("DIKBUD", "Dinas Pendidikan dan Kebudayaan Provinsi NTB", "dikbud@ntbprov.go.id"),
    ("DISHUB", "Dinas Perhubungan Provinsi NTB", "dishub@ntbprov.go.id"),
    ("DLHK", "Dinas Lingkungan Hidup dan Kehutanan Provinsi NTB", "dlhk@ntbprov.go.id"),
    ("DINSOS", "Dinas Sosial Provinsi NTB", "dinsos@ntbprov.go.id"),
    ("RSUDP", "RSUD Provinsi NTB", "rsud@ntbprov.go.id"),
    ("DISPAR", "Dinas Pariwisata Provinsi NTB", "dispar@ntbprov.go.id"),
    ("INSPEKTORAT", "Inspektorat Provinsi NTB", "inspektorat@ntbprov.go.id"),
    ("BAPENDA", "Badan Pendapatan Daerah Provinsi NTB", "bapenda@ntbprov.go.id"),
]

CATEGORIES = [
    ("jalan", "Jalan dan jembatan", "Roads and bridges", "PUPR", "jalan rusak,jalan berlubang,jembatan,aspal"),
    ("air", "Air bersih dan irigasi", "Water and irrigation", "PUPR", "air,pdam,irigasi,banjir"),
    ("kesehatan", "Layanan kesehatan", "Health services", "DIKES", "puskesmas,bpjs,obat,dokter"),
    ("rumahsakit", "Pelayanan rumah sakit", "Hospital services", "RSUDP", "rsud,rumah sakit,igd"),
    ("pendidikan", "Pendidikan", "Education", "DIKBUD", "sekolah,sma,smk,guru,ppdb"),
    ("transportasi", "Transportasi dan perhubungan", "Transport", "DISHUB", "angkutan,terminal,pelabuhan,kapal"),
    ("lingkungan", "Lingkungan dan sampah", "Environment and waste", "DLHK", "sampah,pencemaran,hutan"),
    ("bansos", "Bantuan sosial", "Social assistance", "DINSOS", "bansos,pkh,bantuan"),
    ("pariwisata", "Pariwisata", "Tourism", "DISPAR", "wisata,pantai,gili,mandalika"),
    ("pungli", "Pungutan liar dan integritas", "Illegal levies and integrity", "INSPEKTORAT", "pungli,korupsi,suap"),
    ("pajak", "Pajak kendaraan dan samsat", "Vehicle tax", "BAPENDA", "samsat,pajak kendaraan,stnk"),
]

SAMPLES = [
    # (category, urgency, region, title, body, reporter, flags, path)
    ("jalan", "penting", "52.01.08", "Jalan berlubang di Jalan Raya Narmada",
     "Jalan provinsi di depan Pasar Narmada berlubang besar sejak dua minggu, sudah ada pengendara motor jatuh.",
     {"name": "Baiq Nurul Aini", "phone": "081907123456"}, {}, ["verify", "start", "respond", "resolve", "rate"]),
    ("kesehatan", "mendesak", "52.71.01", "Stok obat kosong di Puskesmas Ampenan",
     "Ibu saya tidak mendapat obat hipertensi di Puskesmas Ampenan karena stok kosong.",
     {"name": "Lalu Muhammad Zaini", "phone": "+6287765432100"}, {}, ["verify", "respond"]),
    ("pendidikan", "biasa", "52.03.05", "Pungutan seragam di SMA negeri",
     "Sekolah meminta uang seragam Rp 1.200.000 tanpa kuitansi.",
     {"name": "Anonim", "email": "warga.lotim@example.org"}, {"anonymous": True}, ["verify", "transfer"]),
    ("transportasi", "penting", "52.08.01", "Kapal penyeberangan Kayangan terlambat",
     "Jadwal kapal Kayangan–Pototano terlambat lebih dari tiga jam setiap sore.",
     {"name": "I Made Sudarma", "phone": "0818-0370-1122"}, {}, ["verify", "hold"]),
    ("lingkungan", "biasa", "52.71.03", "Sampah menumpuk di pinggir Sungai Jangkok",
     "Sampah rumah tangga menumpuk dan berbau di bantaran Sungai Jangkok dekat jembatan.",
     {"name": "Siti Hajar", "phone": "081339000111"}, {}, []),
    ("bansos", "biasa", "52.02.07", "Bantuan PKH belum cair tiga bulan",
     "Nama saya terdaftar sebagai penerima PKH tetapi sudah tiga bulan belum menerima bantuan.",
     {"name": "Inaq Sumiati", "phone": "087864112233", "nik": "5202074512780001"}, {"secret": True}, ["verify"]),
    ("pungli", "penting", "52.71.02", "Pungli pengurusan izin",
     "Ada oknum yang meminta uang pelicin untuk mempercepat izin usaha.",
     {"email": "pelapor@example.org"}, {"anonymous": True, "secret": True}, ["verify", "start"]),
    ("pariwisata", "biasa", "52.02.05", "Retribusi parkir di Pantai Kuta Mandalika",
     "Tarif parkir di Pantai Kuta berbeda-beda dan tanpa karcis resmi.",
     {"name": "Ahmad Fauzi", "phone": "081917556677"}, {}, ["reject"]),
    ("pajak", "biasa", "52.72.01", "Antrean Samsat Kota Bima",
     "Antrean di Samsat Kota Bima sangat panjang, loket hanya dua yang buka.",
     {"name": "Nurhayati", "phone": "085253001122"}, {}, ["verify", "start", "resolve"]),
    ("rumahsakit", "mendesak", "52.71.04", "Pasien IGD menunggu lama",
     "Ayah saya menunggu lebih dari empat jam di IGD tanpa ditangani.",
     {"name": "Gede Artawan", "phone": "081236998877"}, {}, ["verify", "respond", "resolve"]),
]

TEXTS = {
    "verify": "", "start": "Laporan sedang ditindaklanjuti oleh tim lapangan.",
    "respond": "Terima kasih, petugas kami sudah meninjau lokasi dan menjadwalkan perbaikan.",
    "hold": "Mohon kirimkan tanggal dan jam keberangkatan kapal yang terlambat.",
    "resolve": "Perbaikan sudah selesai dilaksanakan. Terima kasih atas laporannya.",
    "transfer": "Bukan wewenang dinas ini: SMA/SMK adalah wewenang Dinas Pendidikan, diteruskan ke Inspektorat.",
    "reject": "Retribusi parkir pantai adalah wewenang Pemerintah Kabupaten Lombok Tengah; silakan lapor ke kanal kabupaten.",
    "rate": "Terima kasih, sudah diperbaiki.",
}


def database_is_empty() -> bool:
    """No complaint and no staff account: nothing a demo could mix itself into."""
    return not Complaint.select().exists() and not User.select().exists()


def seed() -> list[tuple[str, str, str]]:
    """Create the demo deployment; returns (role, username, token, password or None) for each staff
    account it created (an account that already existed keeps its tokens and password and gets none)."""
    from .services import file_complaint, perform
    from .auth import Actor

    rnd = random.Random(52)
    if not Region.select().where(Region.code.startswith("52")).exists():
        load_regions(current_app.config["REGION_PREFIXES"] or ["52"])
    with database.atomic():
        agencies = {}
        for code, name, email in AGENCIES:
            agencies[code], _ = Agency.get_or_create(code=code, defaults={"name": name, "email": email})
        cats = {}
        for code, name, name_en, agency, kw in CATEGORIES:
            cats[code], _ = Category.get_or_create(code=code, defaults={
                "name": name, "name_en": name_en, "default_agency": agencies[agency], "keywords": kw,
                "default_urgency": "biasa"})
        accounts = [("admin", "admin", "Administrator Sistem", None),
                    ("coordinator", "koordinator", "Admin Koordinator NTB Care", "DISKOMINFOTIK"),
                    ("officer", "pupr", "Admin Penghubung PUPR", "PUPR"),
                    ("officer", "dikes", "Admin Penghubung Dinas Kesehatan", "DIKES"),
                    ("officer", "dikbud", "Admin Penghubung Dikbud", "DIKBUD"),
                    ("officer", "dishub", "Admin Penghubung Dishub", "DISHUB"),
                    ("officer", "inspektorat", "Admin Penghubung Inspektorat", "INSPEKTORAT"),
                    ("integration", "integrasi", "Integrasi kanal", None)]
        tokens = []
        users = {}
        for role, username, name, agency in accounts:
            u, created = User.get_or_create(username=username, defaults={
                "name": name, "role": role, "agency": agencies.get(agency)})
            users[username] = u
            if created:  # never a new token for an account that existed before (a real admin)
                _, raw = create_token(u, "demo", scopes=LEGACY_SCOPES if role == "integration" else None)
                password = None
                if role in PASSWORD_ROLES:  # staff sign in to the portal's pages with it
                    password = temporary_password()
                    set_password(u, password)
                tokens.append((role, username, raw, password))
    coord = Actor(role="coordinator", user_id=users["koordinator"].id, agency_id=agencies["DISKOMINFOTIK"].id,
                  username="koordinator")
    now = utcnow()
    for i, (cat, urgency, region, title, body, rep, flags, path) in enumerate(SAMPLES):
        created = now - dt.timedelta(days=len(SAMPLES) - i, hours=rnd.randint(0, 8))
        region_ok = Region.get_or_none(Region.code == region) is not None
        c, _code = file_complaint({"title": title, "body": body, "category": cat, "urgency": urgency,
                                   "region_code": region if region_ok else None, "reporter": rep, **flags},
                                  actor=Actor(role="reporter"), channel=rnd.choice(["web", "web", "sms", "email"]),
                                  now=created)
        t = created
        for step in path:
            t += dt.timedelta(hours=rnd.randint(2, 20))
            agency_user = None
            c = Complaint.get_by_id(c.id)
            if step in ("start", "respond", "hold", "resolve", "transfer") and c.agency_id:
                agency_user = User.get_or_none(User.agency == c.agency_id)
            actor = coord if agency_user is None else Actor(role="officer", user_id=agency_user.id,
                                                            agency_id=agency_user.agency_id,
                                                            username=agency_user.username)
            if step == "rate":
                actor = Actor(role="reporter", complaint_id=c.id)
            kwargs = {}
            if step == "transfer":
                kwargs["agency_id"] = agencies["INSPEKTORAT"].id
            if step == "rate":
                kwargs["rating"] = 5
            perform(c, step, actor, text=TEXTS.get(step, ""), now=min(t, now), **kwargs)
    return tokens
