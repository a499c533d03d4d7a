r"""Replies written the way Fin-R1 writes them (think, answer, tables, math, code, \boxed{}), for
the chat view's tests and screenshots. Each is real input for the parser and the renderer."""

# ruff: noqa: E501  (model replies have long lines; wrapping them would change the markdown)

from __future__ import annotations

COMPLIANCE = r"""<think>
The question asks whether the branch handled Mr Zhang's transactions in line with anti-money-laundering rules. Let me look at the pattern first: five cash deposits between 48,600 and 49,900 yuan within five days, each just below the 50,000 yuan large-transaction threshold.

That is classic **structuring** (拆分交易): keeping each deposit under the threshold to avoid a report. The total is $245{,}000$ yuan, wired abroad three days later as "payment for goods" with no contract or customs declaration.

The relationship manager *knew* the intent, made no enquiries and filed no suspicious transaction report. Under the AML rules a bank must report suspicious transactions regardless of the amount, so the branch failed its duty.
</think>
<answer>
## Assessment

The branch's handling is **not compliant** with anti-money-laundering rules:

1. **Structuring.** Five cash deposits of 48,600–49,900 yuan in five days were each kept just below the 50,000 yuan large-transaction threshold.
2. **No supporting documents.** The 245,000 yuan wired abroad as "payment for goods" came with no contract or customs declaration.
3. **No report.** The relationship manager knew the intent but made no enquiries and filed no suspicious transaction report.

| Date | Deposit (yuan) | Account |
|---|---:|---|
| 4 Mar | 49,500 | own |
| 4 Mar | 48,800 | own |
| 5 Mar | 49,900 | spouse |
| 6 Mar | 49,000 | own |
| 7 Mar | 48,600 | spouse |

The branch should have filed a suspicious transaction report and reviewed the outbound transfers.

\boxed{\text{No}}
</answer>"""

COMPLIANCE_ZH = r"""<think>
题目问的是该支行对张先生交易的处理是否符合反洗钱规定。先看交易模式：五天内五笔现金存款，金额在 48,600 至 49,900 元之间，每一笔都略低于 5 万元的大额交易报告标准。

这是典型的**拆分交易**：把每笔存款控制在报告标准以下以规避报告。合计 $245{,}000$ 元，三天后以"货款"名义汇往境外，却没有合同或报关单。

客户经理*知情*，却未做任何尽职调查，也未提交可疑交易报告。按照反洗钱规定，无论金额大小，金融机构都应报告可疑交易，因此支行未履行义务。
</think>
<answer>
## 结论

该支行的处理**不符合**反洗钱规定：

1. **拆分交易。** 五天内五笔现金存款均略低于 5 万元的大额交易报告标准。
2. **缺少单据。** 以"货款"名义汇往境外的 245,000 元没有合同或报关单。
3. **未报告。** 客户经理知情，却未调查，也未提交可疑交易报告。

| 日期 | 存款（元） | 账户 |
|---|---:|---|
| 3月4日 | 49,500 | 本人 |
| 3月5日 | 49,900 | 配偶 |
| 3月7日 | 48,600 | 配偶 |

支行应提交可疑交易报告并复核境外汇款。

\boxed{否}
</answer>"""

CALCULATION = r"""<think>
Equal instalments on a 100,000 yuan loan over 5 years at 6% a year. Monthly rate $r = 6\%/12 = 0.5\%$, number of payments $n = 60$.

The annuity formula gives the payment; $(1.005)^{60} \approx 1.34885$.
</think>
<answer>
**Formula.** For principal $P$, monthly rate $r$ and $n$ payments:

$$PMT = P \cdot \frac{r(1+r)^n}{(1+r)^n - 1}$$

**Steps.**

- Monthly rate: $r = \dfrac{6\%}{12} = 0.005$
- Payments: $n = 5 \times 12 = 60$
- Growth factor: $(1+r)^n = 1.005^{60} \approx 1.348850$

\[
PMT = 100{,}000 \times \frac{0.005 \times 1.348850}{1.348850 - 1} \approx 1{,}933.28
\]

Total interest paid: $60 \times 1{,}933.28 - 100{,}000 = 15{,}996.80$ yuan.

The monthly repayment is \boxed{1{,}933.28\text{ yuan}}.
</answer>"""

CODE = r"""<think>
Two assets: A with 12% expected return and 20% volatility, B with 8% and 15%, correlation 0.3, risk-free rate 2%. The frontier comes from sweeping the weight of A from 0 to 1; the tangency portfolio maximises the Sharpe ratio.
</think>
<answer>
**Approach.** For weight $w$ in A, the portfolio return is $\mu_p = w\mu_A + (1-w)\mu_B$ and its variance is

$$\sigma_p^2 = w^2\sigma_A^2 + (1-w)^2\sigma_B^2 + 2w(1-w)\rho\sigma_A\sigma_B$$

```python
import numpy as np
import matplotlib.pyplot as plt

mu = np.array([0.12, 0.08])        # expected returns of A and B
sigma = np.array([0.20, 0.15])     # volatilities
rho, rf = 0.3, 0.02

w = np.linspace(0, 1, 501)
ret = w * mu[0] + (1 - w) * mu[1]
vol = np.sqrt((w * sigma[0]) ** 2 + ((1 - w) * sigma[1]) ** 2
              + 2 * w * (1 - w) * rho * sigma[0] * sigma[1])
sharpe = (ret - rf) / vol

i_min, i_tan = vol.argmin(), sharpe.argmax()
for name, i in (("minimum variance", i_min), ("tangency", i_tan)):
    print(f"{name}: w_A={w[i]:.2%}, return={ret[i]:.2%}, volatility={vol[i]:.2%}")

plt.plot(vol, ret, label="efficient frontier")
plt.scatter(vol[[i_min, i_tan]], ret[[i_min, i_tan]], color="red")
plt.xlabel("volatility"); plt.ylabel("expected return"); plt.legend(); plt.show()
```

The script prints the minimum-variance weights (about 31% in A) and the tangency weights, and draws the frontier with both portfolios marked.

\boxed{\text{The code above plots the frontier and prints both portfolios}}
</answer>"""

TRUNCATED = r"""<think>
Let me work through the cash flows year by year. The premium is 10,000 a year for 20 years, and the dividends compound at 3%. Year 1: dividend"""
