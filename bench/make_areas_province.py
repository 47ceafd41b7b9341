"""Write bench/areas_province.csv: a synthetic but plausible code list of Hunan province.

    .venv/bin/python bench/make_areas_province.py [--out bench/areas_province.csv] [--seed 43]

Same columns as dbt/seeds/areas.csv (area_code, name_zh, name_en, level, parent_code,
area_type_zh, vintage). The province, its 14 prefecture-level units and their 122 county-level
units carry the real codes and names (GB/T 2260, 2023). The ~1,900 township-level units under
them are synthetic: codes follow the NBS convention (county code + 001–099 街道, 100–199 镇,
200–399 乡), names are made of common place-name syllables, and how many of each kind a county
has follows its type (a 市辖区 is mostly 街道, a 县 mostly 镇 and 乡). The 12 townships of
双清区 (430502) are copied from dbt/seeds/areas.csv, so the district is an exact part of the
province. The output is deterministic for a given seed.
"""
from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VINTAGE = 2023
TARGET_TOWNSHIPS = 1900

PREFECTURES = [
    ("430100", "长沙市", "Changsha City", "地级市"),
    ("430200", "株洲市", "Zhuzhou City", "地级市"),
    ("430300", "湘潭市", "Xiangtan City", "地级市"),
    ("430400", "衡阳市", "Hengyang City", "地级市"),
    ("430500", "邵阳市", "Shaoyang City", "地级市"),
    ("430600", "岳阳市", "Yueyang City", "地级市"),
    ("430700", "常德市", "Changde City", "地级市"),
    ("430800", "张家界市", "Zhangjiajie City", "地级市"),
    ("430900", "益阳市", "Yiyang City", "地级市"),
    ("431000", "郴州市", "Chenzhou City", "地级市"),
    ("431100", "永州市", "Yongzhou City", "地级市"),
    ("431200", "怀化市", "Huaihua City", "地级市"),
    ("431300", "娄底市", "Loudi City", "地级市"),
    ("433100", "湘西土家族苗族自治州", "Xiangxi Tujia and Miao Autonomous Prefecture", "自治州"),
]

# (code, name_zh, name_en); the type follows from the name (区 / 市 / 自治县 / 县).
COUNTIES = [
    ("430102", "芙蓉区", "Furong District"), ("430103", "天心区", "Tianxin District"),
    ("430104", "岳麓区", "Yuelu District"), ("430105", "开福区", "Kaifu District"),
    ("430111", "雨花区", "Yuhua District"), ("430112", "望城区", "Wangcheng District"),
    ("430121", "长沙县", "Changsha County"), ("430181", "浏阳市", "Liuyang City"), ("430182", "宁乡市", "Ningxiang City"),
    ("430202", "荷塘区", "Hetang District"), ("430203", "芦淞区", "Lusong District"),
    ("430204", "石峰区", "Shifeng District"), ("430211", "天元区", "Tianyuan District"),
    ("430212", "渌口区", "Lukou District"), ("430223", "攸县", "You County"), ("430224", "茶陵县", "Chaling County"),
    ("430225", "炎陵县", "Yanling County"), ("430281", "醴陵市", "Liling City"),
    ("430302", "雨湖区", "Yuhu District"), ("430304", "岳塘区", "Yuetang District"),
    ("430321", "湘潭县", "Xiangtan County"), ("430381", "湘乡市", "Xiangxiang City"), ("430382", "韶山市", "Shaoshan City"),
    ("430405", "珠晖区", "Zhuhui District"), ("430406", "雁峰区", "Yanfeng District"),
    ("430407", "石鼓区", "Shigu District"), ("430408", "蒸湘区", "Zhengxiang District"),
    ("430412", "南岳区", "Nanyue District"), ("430421", "衡阳县", "Hengyang County"),
    ("430422", "衡南县", "Hengnan County"), ("430423", "衡山县", "Hengshan County"),
    ("430424", "衡东县", "Hengdong County"), ("430426", "祁东县", "Qidong County"),
    ("430481", "耒阳市", "Leiyang City"), ("430482", "常宁市", "Changning City"),
    ("430502", "双清区", "Shuangqing District"), ("430503", "大祥区", "Daxiang District"),
    ("430511", "北塔区", "Beita District"), ("430522", "新邵县", "Xinshao County"),
    ("430523", "邵阳县", "Shaoyang County"), ("430524", "隆回县", "Longhui County"),
    ("430525", "洞口县", "Dongkou County"), ("430527", "绥宁县", "Suining County"),
    ("430528", "新宁县", "Xinning County"), ("430529", "城步苗族自治县", "Chengbu Miao Autonomous County"),
    ("430581", "武冈市", "Wugang City"), ("430582", "邵东市", "Shaodong City"),
    ("430602", "岳阳楼区", "Yueyanglou District"), ("430603", "云溪区", "Yunxi District"),
    ("430611", "君山区", "Junshan District"), ("430621", "岳阳县", "Yueyang County"),
    ("430623", "华容县", "Huarong County"), ("430624", "湘阴县", "Xiangyin County"),
    ("430626", "平江县", "Pingjiang County"), ("430681", "汨罗市", "Miluo City"), ("430682", "临湘市", "Linxiang City"),
    ("430702", "武陵区", "Wuling District"), ("430703", "鼎城区", "Dingcheng District"),
    ("430721", "安乡县", "Anxiang County"), ("430722", "汉寿县", "Hanshou County"), ("430723", "澧县", "Li County"),
    ("430724", "临澧县", "Linli County"), ("430725", "桃源县", "Taoyuan County"),
    ("430726", "石门县", "Shimen County"), ("430781", "津市市", "Jinshi City"),
    ("430802", "永定区", "Yongding District"), ("430811", "武陵源区", "Wulingyuan District"),
    ("430821", "慈利县", "Cili County"), ("430822", "桑植县", "Sangzhi County"),
    ("430902", "资阳区", "Ziyang District"), ("430903", "赫山区", "Heshan District"), ("430921", "南县", "Nan County"),
    ("430922", "桃江县", "Taojiang County"), ("430923", "安化县", "Anhua County"), ("430981", "沅江市", "Yuanjiang City"),
    ("431002", "北湖区", "Beihu District"), ("431003", "苏仙区", "Suxian District"),
    ("431021", "桂阳县", "Guiyang County"), ("431022", "宜章县", "Yizhang County"),
    ("431023", "永兴县", "Yongxing County"), ("431024", "嘉禾县", "Jiahe County"),
    ("431025", "临武县", "Linwu County"), ("431026", "汝城县", "Rucheng County"),
    ("431027", "桂东县", "Guidong County"), ("431028", "安仁县", "Anren County"), ("431081", "资兴市", "Zixing City"),
    ("431102", "零陵区", "Lingling District"), ("431103", "冷水滩区", "Lengshuitan District"),
    ("431122", "东安县", "Dong'an County"), ("431123", "双牌县", "Shuangpai County"), ("431124", "道县", "Dao County"),
    ("431125", "江永县", "Jiangyong County"), ("431126", "宁远县", "Ningyuan County"),
    ("431127", "蓝山县", "Lanshan County"), ("431128", "新田县", "Xintian County"),
    ("431129", "江华瑶族自治县", "Jianghua Yao Autonomous County"), ("431181", "祁阳市", "Qiyang City"),
    ("431202", "鹤城区", "Hecheng District"), ("431221", "中方县", "Zhongfang County"),
    ("431222", "沅陵县", "Yuanling County"), ("431223", "辰溪县", "Chenxi County"), ("431224", "溆浦县", "Xupu County"),
    ("431225", "会同县", "Huitong County"), ("431226", "麻阳苗族自治县", "Mayang Miao Autonomous County"),
    ("431227", "新晃侗族自治县", "Xinhuang Dong Autonomous County"),
    ("431228", "芷江侗族自治县", "Zhijiang Dong Autonomous County"),
    ("431229", "靖州苗族侗族自治县", "Jingzhou Miao and Dong Autonomous County"),
    ("431230", "通道侗族自治县", "Tongdao Dong Autonomous County"), ("431281", "洪江市", "Hongjiang City"),
    ("431302", "娄星区", "Louxing District"), ("431321", "双峰县", "Shuangfeng County"),
    ("431322", "新化县", "Xinhua County"), ("431381", "冷水江市", "Lengshuijiang City"),
    ("431382", "涟源市", "Lianyuan City"),
    ("433101", "吉首市", "Jishou City"), ("433122", "泸溪县", "Luxi County"), ("433123", "凤凰县", "Fenghuang County"),
    ("433124", "花垣县", "Huayuan County"), ("433125", "保靖县", "Baojing County"), ("433126", "古丈县", "Guzhang County"),
    ("433127", "永顺县", "Yongshun County"), ("433130", "龙山县", "Longshan County"),
]

# Place-name syllables (汉字, pinyin) for the synthetic township names.
SYLLABLES = [
    ("青", "qing"), ("石", "shi"), ("龙", "long"), ("凤", "feng"), ("桥", "qiao"), ("江", "jiang"), ("河", "he"),
    ("山", "shan"), ("塘", "tang"), ("坪", "ping"), ("田", "tian"), ("湾", "wan"), ("溪", "xi"), ("岭", "ling"),
    ("冲", "chong"), ("桃", "tao"), ("花", "hua"), ("新", "xin"), ("安", "an"), ("兴", "xing"), ("太", "tai"),
    ("平", "ping"), ("长", "chang"), ("乐", "le"), ("白", "bai"), ("黄", "huang"), ("金", "jin"), ("水", "shui"),
    ("东", "dong"), ("西", "xi"), ("南", "nan"), ("北", "bei"), ("高", "gao"), ("大", "da"), ("小", "xiao"),
    ("马", "ma"), ("牛", "niu"), ("杨", "yang"), ("柳", "liu"), ("梅", "mei"), ("松", "song"), ("竹", "zhu"),
    ("茶", "cha"), ("云", "yun"), ("雁", "yan"), ("湖", "hu"), ("洲", "zhou"), ("潭", "tan"), ("铺", "pu"),
    ("市", "shi"), ("坊", "fang"), ("口", "kou"), ("头", "tou"), ("家", "jia"), ("庙", "miao"), ("寺", "si"),
    ("阳", "yang"), ("宁", "ning"), ("丰", "feng"), ("和", "he"), ("德", "de"), ("源", "yuan"), ("林", "lin"),
]
KIND_EN = {"街道": "Subdistrict", "镇": "Town", "乡": "Township"}
KIND_RANGE = {"街道": (1, 99), "镇": (100, 199), "乡": (200, 399)}


def county_type(name_zh: str) -> str:
    if name_zh.endswith("自治县"):
        return "自治县"
    if name_zh.endswith("区"):
        return "市辖区"
    if name_zh.endswith("市"):
        return "县级市"
    return "县"


def township_mix(kind: str, rng: random.Random) -> dict[str, int]:
    """How many 街道 / 镇 / 乡 a county of this type has (before scaling to the target total)."""
    if kind == "市辖区":
        return {"街道": rng.randint(6, 14), "镇": rng.randint(0, 5), "乡": rng.randint(0, 1)}
    if kind == "县级市":
        return {"街道": rng.randint(3, 8), "镇": rng.randint(9, 16), "乡": rng.randint(0, 3)}
    if kind == "自治县":
        return {"街道": rng.randint(1, 2), "镇": rng.randint(7, 12), "乡": rng.randint(3, 9)}
    return {"街道": rng.randint(1, 4), "镇": rng.randint(9, 15), "乡": rng.randint(2, 7)}


def read_district_rows(seed_csv: Path) -> list[dict[str, str]]:
    with seed_csv.open(encoding="utf-8", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["level"] == "township" and r["parent_code"] == "430502"]


def build(seed: int = 43, seed_csv: Path | None = None) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = [{"area_code": "430000", "name_zh": "湖南省", "name_en": "Hunan Province", "level": "province",
             "parent_code": "", "area_type_zh": "省"}]
    for code, zh, en, kind in PREFECTURES:
        rows.append({"area_code": code, "name_zh": zh, "name_en": en, "level": "prefecture",
                     "parent_code": "430000", "area_type_zh": kind})
    mixes = {code: township_mix(county_type(zh), rng) for code, zh, _ in COUNTIES}
    district = read_district_rows(seed_csv or ROOT / "dbt" / "seeds" / "areas.csv")
    mixes["430502"] = {k: sum(r["area_type_zh"] == k for r in district) for k in KIND_EN}
    total = sum(sum(m.values()) for m in mixes.values())
    factor = (TARGET_TOWNSHIPS - len(district)) / (total - len(district))
    used_names: set[str] = set()
    for code, zh, en in COUNTIES:
        prefecture = code[:4] + "00" if not code.startswith("4331") else "433100"
        rows.append({"area_code": code, "name_zh": zh, "name_en": en, "level": "county",
                     "parent_code": prefecture, "area_type_zh": county_type(zh)})
        if code == "430502":
            rows.extend({k: r[k] for k in ("area_code", "name_zh", "name_en", "level", "parent_code", "area_type_zh")}
                        for r in district)
            continue
        for kind, n in mixes[code].items():
            n = max(0, round(n * factor)) if kind != "街道" or county_type(zh) != "市辖区" else max(1, round(n * factor))
            lo, hi = KIND_RANGE[kind]
            numbers = range(lo, min(lo + n, hi + 1))  # numbered in order, as the NBS does
            for number in numbers:
                while True:
                    (a, pa), (b, pb) = rng.sample(SYLLABLES, 2)
                    name = a + b
                    if (code, name) not in used_names:
                        used_names.add((code, name))
                        break
                pinyin = (pa + pb).capitalize()
                rows.append({"area_code": f"{code}{number:03d}", "name_zh": name + kind,
                             "name_en": f"{pinyin} {KIND_EN[kind]}", "level": "township",
                             "parent_code": code, "area_type_zh": kind})
    for r in rows:
        r["vintage"] = str(VINTAGE)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HERE / "areas_province.csv")
    parser.add_argument("--seed", type=int, default=43)
    args = parser.parse_args(argv)
    rows = build(args.seed)
    columns = ["area_code", "name_zh", "name_en", "level", "parent_code", "area_type_zh", "vintage"]
    with args.out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    levels = {lvl: sum(r["level"] == lvl for r in rows) for lvl in ("province", "prefecture", "county", "township")}
    print(f"wrote {args.out}: " + ", ".join(f"{n} {lvl}" for lvl, n in levels.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
