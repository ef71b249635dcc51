# Generates src/facts/data/dotnet-sdk-runtime.tsv from a clone of github.com/dotnet/dotnet-docker
# (the team's fetch tool: /work/.mirror/dotnet+dotnet-docker/repo). Usage: python3 dotnet-sdk-runtime.py REPO > dotnet-sdk-runtime.tsv
import json, subprocess, re, sys
R=sys.argv[1]
def git(*a): return subprocess.run(['git','-C',R,*a],capture_output=True,text=True).stdout
head=git('rev-parse','main').strip()
commits=git('log','--first-parent','--format=%H %cs','main','--','manifest.json','manifest.versions.json').split('\n')
rows={}
for line in reversed(commits):
    if not line: continue
    c,date=line.split()
    try: m=json.loads(git('show',f'{c}:manifest.json'))
    except Exception: continue
    var=dict(m.get('variables',{}))
    try: var.update(json.loads(git('show',f'{c}:manifest.versions.json')).get('variables',{}))
    except Exception: pass
    def sub(s):
        for _ in range(3): s=re.sub(r'\$\(([^)]+)\)',lambda mm: var.get(mm.group(1),mm.group(0)),s)
        return s
    plat={}
    for r in m.get('repos',[]):
        name=r['name'].split('/')[-1]
        if 'nightly' in r['name'] or name not in('sdk','runtime','aspnet'): continue
        for im in r['images']:
            for p in im['platforms']:
                key=re.sub(r'^src/(sdk|runtime|aspnet)/','',p['dockerfile'])
                for t in p.get('tags',{}):
                    mm=re.match(r'^\$\((sdk|dotnet|runtime|aspnet)\|[^)]*product-version\)(.*)$',t)
                    if not mm: continue
                    ver=sub(t[:len(t)-len(mm.group(2))])
                    if '$' in ver or not re.match(r'^\d+\.\d+\.\d+',ver): continue
                    plat.setdefault(key,{})[name]=(ver,mm.group(2))
    for key,v in plat.items():
        if all(k in v for k in ('sdk','runtime','aspnet')) and v['runtime']==v['aspnet'] and v['sdk'][1]==v['runtime'][1]:
            (s,suf),(rv,_)=v['sdk'],v['runtime']
            e=rows.setdefault((s,rv),[set(),c,date])
            e[0].add(suf)
print(f"# .NET SDK version -> the runtime version released with it, and the tag suffixes (platforms) for which the")
print(f"# sdk, runtime and aspnet images all carried the fixed tags VERSION+SUFFIX in the same manifest (an empty")
print(f"# suffix is written '-'); generated from github.com/dotnet/dotnet-docker (main, first-parent history of")
print(f"# manifest.json and manifest.versions.json, snapshot {head}) by src/facts/data/dotnet-sdk-runtime.py")
print(f"# columns: sdk version, runtime version, suffixes, first commit, its date")
for (s,rv),(sufs,c,d) in sorted(rows.items(), key=lambda kv: [(0,int(x),'') if x.isdigit() else (1,0,x) for x in re.split(r'[.-]',kv[0][0])]):
    print(f"{s}\t{rv}\t{' '.join(sorted(x or '-' for x in sufs))}\t{c[:12]}\t{d}")
