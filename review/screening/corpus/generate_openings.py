"""Writes openings_negatives.jsonl: lawful openings, self-introductions and closings, from templates.

Openings are the most formulaic part of a collection call and the one a classifier most easily
mistakes for impersonation (我们是受XX委托的... sounds like 我们是XX指定的...). The corpus writers
gave a few dozen; this adds the combinations a centre really uses: organisation kinds, roles,
names and staff numbers, recording notices, purposes, in Chinese and English. Deterministic:

    python review/screening/corpus/generate_openings.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).with_name("openings_negatives.jsonl")
PROVENANCE = "generated from templates in generate_openings.py (callqa developers, 2026-11-29)"

ZH_ORG = ["华信银行信用卡中心", "安途分期", "青禾消费金融", "恒远小额贷款公司", "易米借平台", "鼎丰资产管理有限公司",
          "申江商务咨询有限公司", "明德律师事务所", "嘉禾信用卡中心", "汇通网络小贷", "鹏程金融", "乐享花平台"]
ZH_AGENCY = ["受{creditor}委托的", "{creditor}合作的", ""]
ZH_ROLE = ["贷后专员", "客服专员", "催收专员", "调解员", "客户经理", "工作人员", "贷后服务专员"]
ZH_NAME = ["王敏", "李强", "小周", "陈", "张", "刘洋", "林嘉", "何平", "老赵", "阿杰"]
ZH_TEMPLATES = [
    "您好，我是{agency}{org}的{role}{name}，工号{num}",
    "喂您好，这边是{org}，我是{role}，工号{num}，我姓{surname}",
    "您好，我是{org}的{role}，我叫{name}，本次通话全程录音",
    "你好，{org}，我是工号{num}的{role}",
    "您好，我们是{agency}{org}，我是{role}{name}，先跟您说一下通话会录音",
    "这里是{org}贷后部，我是{name}，为了保障双方权益本次通话录音",
    "我们是{agency}{org}，不是法院也不是公安，今天只是跟您沟通还款",
    "我是{org}的{role}，受托处理您在{creditor}的账单，工号{num}",
    "您好，我是{org}的{role}，请问是本人吗",
    "我们是{creditor}委托的{org}，这个电话是正规的催收来电，您可以在官方app核实",
]
EN_ORG = ["Lakeshore Recovery Group", "Granite Peak Financial", "Northgate Collections", "Evergreen Receivables",
          "Harbor Point Collections", "Summit Account Services", "Blue Ridge Adjustment Bureau", "Pioneer Credit LLC"]
EN_CREDITOR = ["Apex Credit Card", "Cedar Valley Hospital", "Horizon Auto Credit", "SwiftLoan Online"]
EN_NAME = ["Sam Ortiz", "Dana Whitlock", "Marcus", "Priya Shah", "Tom", "Kelly Grant", "agent two one four"]
EN_TEMPLATES = [
    "Hi, this is {name} with {org}, this call is recorded.",
    "Good morning, my name is {name}, I'm calling from {org} on behalf of {creditor}.",
    "{org}, this is {name}. This is a communication from a debt collector.",
    "Hello, {name} here from {org}. We're a collection agency working for {creditor}.",
    "This is {name} from {org}, a debt collection company, not a law firm and not the government.",
    "Hi, I'm {name} with {org}. We've been hired by {creditor} to collect the balance on your account.",
    "My name is {name} and I work for {org}, calls are monitored and recorded for quality.",
    "You've reached {name} at {org}; we handle accounts placed with us by {creditor}.",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
# courtesy closings: 注意安全 / drive safe end many lawful calls and must not read as veiled threats
ZH_CLOSE_A = ["好的", "那行", "嗯好", "行，那就这样", "好嘞", "那我就不打扰您了", "那先这样"]
ZH_CLOSE_B = ["我们下午再联系", "月底前记得还款", "您先忙", "有问题随时打我们客服电话", "还款后跟我说一声", ""]
ZH_CLOSE_C = ["您路上注意安全", "开车注意安全", "路上慢点", "注意身体", "天冷多穿点", "您早点休息", "祝您生活愉快"]
EN_CLOSE = ["Okay, drive safe and talk soon.", "Thanks, take care of yourself.", "Alright, stay safe out there, bye now.",
            "Have a safe trip home, we'll follow up Friday.", "Get home safe, and thanks for the payment.",
            "Take care, watch the roads tonight, they're icy.", "Be safe, and call us if anything changes."]


def main() -> None:
    rng = random.Random(2026)
    lines = []
    seen: set[str] = set()
    for template in ZH_TEMPLATES:
        for _ in range(14):
            creditor = rng.choice(ZH_ORG)
            text = template.format(org=rng.choice(ZH_ORG), agency=rng.choice(ZH_AGENCY).format(creditor=creditor),
                                   creditor=creditor, role=rng.choice(ZH_ROLE), name=rng.choice(ZH_NAME),
                                   num=f"{rng.choice('ABHLXZ')}{rng.randint(100, 9999)}",
                                   surname=rng.choice(SURNAMES))
            if text not in seen:
                seen.add(text)
                lines.append({"text": text, "category": "none", "language": "zh", "role": "agent",
                              "style": "template", "context": "", "provenance": PROVENANCE,
                              "negative_kind": "procedure"})
    for template in EN_TEMPLATES:
        for _ in range(12):
            text = template.format(org=rng.choice(EN_ORG), creditor=rng.choice(EN_CREDITOR), name=rng.choice(EN_NAME))
            if text not in seen:
                seen.add(text)
                lines.append({"text": text, "category": "none", "language": "en", "role": "agent",
                              "style": "template", "context": "", "provenance": PROVENANCE,
                              "negative_kind": "procedure"})
    for _ in range(60):
        parts = [rng.choice(ZH_CLOSE_A), rng.choice(ZH_CLOSE_B), rng.choice(ZH_CLOSE_C)]
        text = "，".join(p for p in parts if p)
        if text not in seen:
            seen.add(text)
            lines.append({"text": text, "category": "none", "language": "zh", "role": "agent", "style": "template",
                          "context": "", "provenance": PROVENANCE, "negative_kind": "closing"})
    for text in EN_CLOSE:
        lines.append({"text": text, "category": "none", "language": "en", "role": "agent", "style": "template",
                      "context": "", "provenance": PROVENANCE, "negative_kind": "closing"})
    OUT.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    print(f"wrote {len(lines)} openings to {OUT}")


if __name__ == "__main__":
    main()
