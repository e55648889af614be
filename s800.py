import sys, time, os
sys.path.insert(0, "benchmarks")
import large_formulas as lf
import algebrac as ac
from algebrac import progress
t0=time.time(); last=[t0, "start"]
orig = progress._Progress.phase
def ph(self, name):
    now=time.time(); print(f"  {last[1]}: {now-last[0]:.2f} s (cpu {time.process_time():.1f})", file=sys.stderr); last[:]=[now,name]
    orig(self, name)
progress._Progress.phase = ph
case = sys.argv[1] if len(sys.argv) > 1 else "sum 800"
exprs, args = lf.build(case)
print("built", time.time()-t0); t0=time.time(); last[0]=t0
uf = ac.compile(exprs, args)
now=time.time(); print(f"  {last[1]}: {now-last[0]:.2f} s", file=sys.stderr)
print("total", time.time()-t0, "cpu", time.process_time())
