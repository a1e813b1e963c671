"""How often a CSV of a few names in a non-Latin code page is read right, refused, or misread.

Writes 270 small files (nine code pages Excel saves CSV in, 1 to 30 rows of generated names,
five seeds each) to a temporary folder and asks ``detect_encoding`` about each: *right* when
its answer decodes the file to the same text as the code page it was written in, *refused*
when it stops with "cannot tell which encoding" (and whether the message shows the right
reading), *misread* otherwise. Prints the counts by code page and by rows.

    .venv/bin/python bench/encoding_guess.py
"""

from __future__ import annotations

import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from importer.errors import ConfigError
from importer.read.encoding import detect_encoding

NAMES = {
    "cp1255": (
        "דוד משה יוסף אברהם יעקב שרה רחל לאה מרים רבקה נועה תמר",
        "כהן לוי מזרחי פרץ ביטון",
    ),
    "cp1256": (
        "محمد أحمد علي حسن فاطمة عائشة مريم يوسف خالد سارة",
        "العلي حسن الأحمد الشمري المصري",
    ),
    "cp1253": (
        "Γιώργος Μαρία Νίκος Ελένη Κώστας Δημήτρης Σοφία",
        "Παπαδόπουλος Ιωάννου Γεωργίου",
    ),
    "cp1251": (
        "Иван Мария Алексей Ольга Дмитрий Анна Сергей Елена",
        "Петров Смирнова Иванов Попов",
    ),
    "cp874": (
        "สมชาย สมหญิง ประยุทธ์ วิชัย สุดา มาลี อนุชา กมล",
        "ใจดี รักไทย ศรีสุข วงศ์ใหญ่ มั่นคง",
    ),
    "gbk": (
        "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛",
        "王 李 张 刘 陈 杨 黄 赵 吴 周",
    ),
    "big5": (
        "志明 春嬌 家豪 淑芬 俊傑 美玲 建宏 雅婷",
        "陳 林 黃 張 李 王 吳 劉",
    ),
    "cp932": (
        "太郎 花子 一郎 さくら 健太 美咲 翔太 陽菜",
        "山田 佐藤 鈴木 高橋 田中 伊藤 渡辺 中村",
    ),
    "cp949": (
        "민준 서연 지훈 하은 도윤 서윤 예준 지우",
        "김 이 박 최 정 강 조 윤",
    ),
}
ROWS = (1, 2, 3, 5, 10, 30)
SEEDS = 5


def verdict(path: Path, encoding: str) -> str:
    data = path.read_bytes()
    try:
        found = detect_encoding(path)
    except ConfigError as refused:
        said = str(refused)
        shown = any(f" as {name}" in said for name in (encoding, "gb18030"))
        return "refused, right reading shown" if shown else "refused"
    return "right" if data.decode(found) == data.decode(encoding) else "misread"


def main() -> None:
    by_page: Counter[tuple[str, str]] = Counter()
    by_rows: Counter[tuple[int, str]] = Counter()
    with tempfile.TemporaryDirectory() as folder:
        for encoding, (firsts, lasts) in NAMES.items():
            for rows in ROWS:
                for seed in range(SEEDS):
                    pick = random.Random(f"{encoding}{rows}{seed}")
                    lines = ["First Name,Last Name,Email"] + [
                        f"{pick.choice(firsts.split())},{pick.choice(lasts.split())},"
                        f"p{n}@example.com"
                        for n in range(rows)
                    ]
                    path = Path(folder) / f"{encoding}-{rows}-{seed}.csv"
                    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
                    said = verdict(path, encoding)
                    by_page[encoding, said] += 1
                    by_rows[rows, said] += 1
    for encoding in NAMES:
        counts = {said: n for (page, said), n in by_page.items() if page == encoding}
        print(f"{encoding:7} {counts}")
    for rows in ROWS:
        counts = {said: n for (count, said), n in by_rows.items() if count == rows}
        print(f"{rows:3} rows {counts}")
    print("all", dict(Counter(said for (_, said), n in by_page.items() for _ in range(n))))


if __name__ == "__main__":
    main()
