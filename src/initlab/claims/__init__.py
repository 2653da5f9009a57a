"""The lab's claims, one catalogue per study (floor 6): `initlab.claims.<study>.CLAIMS`.

Each claim is data (`initlab.lab.claims.Claim`): its sentence in English and Japanese, and the
rule (`initlab.lab.verdicts`) that decides it over seeds from the study's measurements. The
studies (`initlab.experiments`) measure; these modules judge. Every claim has a test that feeds
its rule a deliberately wrong input and checks that the verdict is "fails".
"""
