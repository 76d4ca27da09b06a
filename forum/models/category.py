from __future__ import annotations

from sqlmodel import Field, SQLModel


class Category(SQLModel, table=True):
    __tablename__ = "categories"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=60, unique=True)
    name_en: str = Field(max_length=80)
    name_ko: str = Field(max_length=80)
    description_en: str = Field(default="", max_length=300)
    description_ko: str = Field(default="", max_length=300)
    position: int = Field(default=0)

    def name(self, locale: str) -> str:
        return self.name_ko if locale == "ko" else self.name_en

    def description(self, locale: str) -> str:
        return self.description_ko if locale == "ko" else self.description_en
