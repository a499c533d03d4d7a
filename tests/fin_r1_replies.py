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
