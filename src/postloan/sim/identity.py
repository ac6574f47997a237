"""Synthetic but valid-looking personal data: names, national ids, phones, addresses.

Everything is vectorised over borrowers and drawn from the generator passed in,
so a seed gives the same people. National ids are 18 digits (GB 11643-1999): a
6-digit area code of the borrower's province, the birth date, a sequence number
and the ISO 7064 MOD 11-2 check character.
"""

from __future__ import annotations

import numpy as np
import polars as pl

__all__ = [
    "PROVINCES",
    "addresses",
    "id_check_char",
    "names",
    "national_ids",
    "phones",
]

#: province code → (area code prefix, province name, capital city)
PROVINCES: dict[str, tuple[str, str, str]] = {
    "CN-11": ("110102", "北京市", "北京市西城区"),
    "CN-12": ("120101", "天津市", "天津市和平区"),
    "CN-21": ("210102", "辽宁省", "沈阳市"),
    "CN-31": ("310104", "上海市", "上海市徐汇区"),
    "CN-32": ("320102", "江苏省", "南京市"),
    "CN-33": ("330106", "浙江省", "杭州市"),
    "CN-34": ("340102", "安徽省", "合肥市"),
    "CN-35": ("350102", "福建省", "福州市"),
    "CN-37": ("370102", "山东省", "济南市"),
    "CN-41": ("410102", "河南省", "郑州市"),
    "CN-42": ("420102", "湖北省", "武汉市"),
    "CN-43": ("430102", "湖南省", "长沙市"),
    "CN-44": ("440106", "广东省", "广州市"),
    "CN-50": ("500103", "重庆市", "重庆市渝中区"),
    "CN-51": ("510104", "四川省", "成都市"),
    "CN-61": ("610102", "陕西省", "西安市"),
}

_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严"
)
_GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏斌宇浩凯鑫晨欣怡涵轩雨佳嘉文博俊"
    "婷琳建国志海波辉颖慧雪琪梅洁亮峰宁丹"
)
_EN_GIVEN = ["James", "Mary", "David", "Anna", "Peter", "Laura", "Michael", "Sofia", "Daniel"]
_EN_FAMILY = ["Smith", "Brown", "Wilson", "Taylor", "Martin", "Lee", "Walker", "Young", "King"]
_STREETS = list("人民解放中山建设和平新华胜利文化友谊光明长江黄河东风")
_MOBILE_PREFIXES = np.array(
    [
        130,
        131,
        132,
        133,
        135,
        136,
        137,
        138,
        139,
        150,
        151,
        152,
        155,
        156,
        157,
        158,
        159,
        166,
        176,
        177,
        180,
        181,
        182,
        183,
        185,
        186,
        187,
        188,
        189,
        198,
        199,
    ],
    dtype=np.int64,
)
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = "10X98765432"


def _pick(rng: np.random.Generator, choices: list[str], n: int) -> pl.Series:
    return pl.Series(choices, dtype=pl.String).gather(rng.integers(0, len(choices), n))


def names(rng: np.random.Generator, english: np.ndarray) -> pl.Series:
    """Chinese names (surname + one or two given characters); Western names where ``english``."""
    n = len(english)
    surname = _pick(rng, _SURNAMES, n)
    g1 = _pick(rng, _GIVEN, n)
    g2 = _pick(rng, _GIVEN, n)
    two = pl.Series(rng.random(n) < 0.6)
    zh = surname + g1 + pl.select(pl.when(two).then(g2).otherwise(pl.lit(""))).to_series()
    en = _pick(rng, _EN_GIVEN, n) + " " + _pick(rng, _EN_FAMILY, n)
    return pl.select(pl.when(pl.Series(english)).then(en).otherwise(zh)).to_series()


def id_check_char(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits (reference, for tests)."""
    total = sum(int(c) * int(w) for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def national_ids(
    rng: np.random.Generator, area_codes: np.ndarray, birth_yyyymmdd: np.ndarray
) -> pl.Series:
    """18-character ids: area (6) + birth date (8) + sequence (3) + check character."""
    seq = rng.integers(1, 1000, len(area_codes)).astype(np.int64)
    first17 = area_codes.astype(np.int64) * 10**11 + birth_yyyymmdd.astype(np.int64) * 1000 + seq
    total = np.zeros(len(first17), dtype=np.int64)
    rest = first17.copy()
    for w in _ID_WEIGHTS[::-1]:
        total += (rest % 10) * w
        rest //= 10
    check = pl.Series(list(_ID_CHECK), dtype=pl.String).gather(total % 11)
    return pl.Series(first17).cast(pl.String).str.zfill(17) + check


def phones(rng: np.random.Generator, n: int) -> pl.Series:
    """11-digit mainland mobile numbers."""
    prefix = _MOBILE_PREFIXES[rng.integers(0, len(_MOBILE_PREFIXES), n)]
    return pl.Series(prefix * 10**8 + rng.integers(0, 10**8, n)).cast(pl.String)


def addresses(rng: np.random.Generator, province: list[str], region_idx: np.ndarray) -> pl.Series:
    """Province + city + street + number, e.g. 广东省广州市中山路128号."""
    n = len(region_idx)
    prov = pl.Series([PROVINCES[p][1] for p in province], dtype=pl.String).gather(region_idx)
    city = pl.Series([PROVINCES[p][2] for p in province], dtype=pl.String).gather(region_idx)
    street = _pick(rng, _STREETS, n) + _pick(rng, _STREETS, n) + "路"
    number = pl.Series(rng.integers(1, 400, n)).cast(pl.String) + "号"
    same = pl.Series([PROVINCES[p][1] == PROVINCES[p][2][:3] for p in province]).gather(region_idx)
    head = pl.select(pl.when(same).then(city).otherwise(prov + city)).to_series()
    return head + street + number
