"""0001: the core schema (agencies, categories, regions, reporters, staff, tokens, complaints,
timeline events, attachments, outbox jobs, schedule state).

Frozen copies of the models as they were: never import application models here.
Timestamp defaults are set by the application, not by the database.
"""
from peewee import *


def up(migrator, db):
    class Agency(Model):
        code = CharField(unique=True, max_length=64)
        name = CharField()
        parent = ForeignKeyField('self', null=True, on_delete='SET NULL')
        email = CharField(null=True)
        phone = CharField(null=True, max_length=32)
        active = BooleanField(default=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'agency'
    db.create_tables([Agency])

    class Category(Model):
        code = CharField(unique=True, max_length=64)
        name = CharField()
        name_en = CharField(null=True)
        description = TextField(null=True)
        keywords = TextField(null=True)
        parent = ForeignKeyField('self', null=True, on_delete='SET NULL')
        default_agency = ForeignKeyField(Agency, null=True, on_delete='SET NULL')
        default_urgency = CharField(max_length=16, default='biasa')
        sla_followup_days = IntegerField(null=True)
        active = BooleanField(default=True)
        class Meta:
            database = db
            table_name = 'category'
    db.create_tables([Category])

    class Reporter(Model):
        name = CharField(null=True)
        phone = CharField(index=True, null=True, max_length=20)
        phone_raw = CharField(null=True, max_length=64)
        email = CharField(index=True, null=True)
        nik_encrypted = TextField(null=True)
        nik_masked = CharField(null=True, max_length=16)
        language = CharField(max_length=2, default='id')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'reporter'
    db.create_tables([Reporter])

    class Region(Model):
        code = CharField(primary_key=True, max_length=16)
        name = CharField(index=True)
        level = SmallIntegerField(index=True)
        parent_code = CharField(index=True, null=True, max_length=16)
        class Meta:
            database = db
            table_name = 'region'
    db.create_tables([Region])

    class Complaint(Model):
        tracking_id = CharField(unique=True, max_length=16)
        access_code_hash = CharField(max_length=128)
        kind = CharField(max_length=32, default='pengaduan')
        title = CharField()
        body = TextField()
        category = ForeignKeyField(Category, null=True, on_delete='SET NULL')
        agency = ForeignKeyField(Agency, null=True, on_delete='SET NULL')
        urgency = CharField(max_length=16, default='biasa')
        anonymous = BooleanField(default=False)
        secret = BooleanField(default=False)
        share_identity = BooleanField(default=False)
        reporter = ForeignKeyField(Reporter, null=True, on_delete='SET NULL')
        lat = DoubleField(null=True)
        lng = DoubleField(null=True)
        address = CharField(null=True, max_length=500)
        region = ForeignKeyField(Region, null=True, on_delete='SET NULL')
        channel = CharField(index=True, max_length=32, default='web')
        status = CharField(index=True, max_length=16, default='received')
        incident_date = DateField(null=True)
        created_at = DateTimeField(index=True)
        updated_at = DateTimeField(index=True)
        verified_at = DateTimeField(null=True)
        first_response_at = DateTimeField(null=True)
        resolved_at = DateTimeField(null=True)
        closed_at = DateTimeField(null=True)
        due_first_response = DateTimeField(null=True)
        due_verify = DateTimeField(null=True)
        due_followup = DateTimeField(null=True)
        due_resolution = DateTimeField(null=True)
        due_close = DateTimeField(null=True)
        breached = CharField(max_length=128, default='')
        rating = SmallIntegerField(null=True)
        rating_comment = TextField(null=True)
        class Meta:
            database = db
            table_name = 'complaint'
    db.create_tables([Complaint])

    class User(Model):
        username = CharField(unique=True, max_length=64)
        name = CharField()
        email = CharField(null=True)
        role = CharField(max_length=16)
        agency = ForeignKeyField(Agency, null=True, on_delete='RESTRICT')
        active = BooleanField(default=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'user'
    db.create_tables([User])

    class Event(Model):
        complaint = ForeignKeyField(Complaint, on_delete='CASCADE')
        type = CharField(max_length=32)
        actor = ForeignKeyField(User, null=True, on_delete='SET NULL')
        actor_role = CharField(max_length=16)
        from_status = CharField(null=True, max_length=16)
        to_status = CharField(null=True, max_length=16)
        from_agency = ForeignKeyField(Agency, null=True, on_delete='SET NULL')
        to_agency = ForeignKeyField(Agency, null=True, on_delete='SET NULL')
        text = TextField(default='')
        visibility = CharField(max_length=16, default='public')
        source = CharField(max_length=32, default='core')
        external_id = CharField(null=True, max_length=128)
        data = TextField(null=True)
        created_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'event'
            indexes = ((('complaint', 'source', 'external_id'), True),)
    db.create_tables([Event])

    class Attachment(Model):
        complaint = ForeignKeyField(Complaint, on_delete='CASCADE')
        event = ForeignKeyField(Event, null=True, on_delete='SET NULL')
        sha256 = CharField(index=True, max_length=64)
        size = IntegerField()
        content_type = CharField(max_length=128)
        filename = CharField()
        visibility = CharField(max_length=16, default='public')
        uploaded_by = CharField(max_length=16)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'attachment'
    db.create_tables([Attachment])

    class Job(Model):
        kind = CharField(index=True, max_length=64)
        key = CharField(unique=True)
        payload = TextField(default=dict)
        status = CharField(max_length=16, default='pending')
        attempts = IntegerField(default=0)
        max_attempts = IntegerField(default=12)
        run_at = DateTimeField()
        locked_by = CharField(null=True, max_length=128)
        locked_until = DateTimeField(null=True)
        last_error = TextField(null=True)
        complaint = ForeignKeyField(Complaint, null=True, on_delete='SET NULL')
        created_at = DateTimeField()
        updated_at = DateTimeField()
        finished_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'job'
            indexes = ((('status', 'run_at'), False),)
    db.create_tables([Job])

    class ScheduleState(Model):
        name = CharField(primary_key=True, max_length=128)
        next_run_at = DateTimeField()
        locked_by = CharField(null=True, max_length=128)
        locked_until = DateTimeField(null=True)
        last_run_at = DateTimeField(null=True)
        last_error = TextField(null=True)
        class Meta:
            database = db
            table_name = 'schedule_state'
    db.create_tables([ScheduleState])

    class Token(Model):
        user = ForeignKeyField(User, on_delete='CASCADE')
        name = CharField(max_length=128, default='')
        token_hash = CharField(unique=True, max_length=64)
        prefix = CharField(max_length=12)
        created_at = DateTimeField()
        last_used_at = DateTimeField(null=True)
        expires_at = DateTimeField(null=True)
        revoked = BooleanField(default=False)
        class Meta:
            database = db
            table_name = 'token'
    db.create_tables([Token])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('token'))
    migrator.migrate(migrator.drop_table('schedule_state'))
    migrator.migrate(migrator.drop_table('job'))
    migrator.migrate(migrator.drop_table('attachment'))
    migrator.migrate(migrator.drop_table('event'))
    migrator.migrate(migrator.drop_table('user'))
    migrator.migrate(migrator.drop_table('complaint'))
    migrator.migrate(migrator.drop_table('region'))
    migrator.migrate(migrator.drop_table('reporter'))
    migrator.migrate(migrator.drop_table('category'))
    migrator.migrate(migrator.drop_table('agency'))
