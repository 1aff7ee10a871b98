"""0001: open311_attribute, the questions a category asks (Open311 service attributes). Frozen
model: never import the application's models here."""
from peewee import *


def up(migrator, db):
    class Category(Model):
        class Meta:
            database = db
            table_name = 'category'

    class Open311Attribute(Model):
        category = ForeignKeyField(Category, on_delete='CASCADE')
        code = CharField(max_length=64)
        datatype = CharField(max_length=16, default='string')
        variable = BooleanField(default=True)
        required = BooleanField(default=False)
        description = TextField(default='')
        datatype_description = TextField(null=True)
        order = IntegerField(default=1)
        values = TextField(null=True)

        class Meta:
            database = db
            table_name = 'open311_attribute'
            indexes = ((('category', 'code'), True),)
    db.create_tables([Open311Attribute])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS open311_attribute')
