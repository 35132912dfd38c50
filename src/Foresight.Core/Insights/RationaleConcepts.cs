namespace Foresight.Core.Insights;

/// <summary>
/// One concept of Delphi rationales ("cost", "regulation", ...) with the English words and Chinese words that name it.
/// </summary>
public sealed record RationaleConcept(string Id, IReadOnlyList<string> English, IReadOnlyList<string> Chinese)
{
    /// <summary>The term a mentioned concept becomes: '#' and the id, which no tokenized word can be.</summary>
    public string Term => "#" + Id;
}

/// <summary>
/// A small hand-made bilingual map of the words experts use most to justify a judgment in a technology Delphi
/// (cost, regulation, talent, infrastructure, demand, safety, standards, funding, data, supply chain, ...), so that
/// the same argument made in Chinese and in English can be recognised by <see cref="ArgumentClusters"/>.
/// Each listed word, wherever it occurs, is replaced by its concept's term (<see cref="RationaleConcept.Term"/>):
/// English words through their Porter stem (so "regulators" finds "regulator"), Chinese words as their run of
/// character bigrams. It is a word list, not translation: a rationale that says "too pricey" or "烧钱" is not seen
/// as being about cost, negation is ignored ("cost is no problem" is about cost), and the words of the argument
/// that are not in the list (制造, manufacturing) still match only within a language.
/// Words were left out when their stem or bigram is shared with unrelated words: "import" (Porter gives "import"
/// for "important" too), "network", "market" (market access is a regulatory argument), "shortage" and 短缺 (a talent
/// shortage and a parts shortage are different arguments), 投入 (投入使用 is "put into use").
/// </summary>
public static class RationaleConcepts
{
    public static readonly IReadOnlyList<RationaleConcept> All =
    [
        new("cost", ["cost", "costs", "costly", "expensive", "expense", "expenses", "price", "prices", "pricing", "affordable", "affordability", "cheap",
            "cheaper"],
            ["成本", "费用", "价格", "昂贵", "造价", "便宜"]),
        new("regulation", ["regulation", "regulations", "regulatory", "regulator", "regulators", "regulate", "legislation", "law", "laws", "legal", "approval",
            "approvals", "approve", "licensing", "license", "licence"],
            ["监管", "法规", "法律", "审批", "立法", "许可", "准入"]),
        new("policy", ["policy", "policies", "government", "governments"],
            ["政策", "政府"]),
        new("talent", ["talent", "talents", "skills", "skilled", "workforce", "personnel", "expertise", "training", "education", "engineers", "researchers"],
            ["人才", "人员", "技能", "培养", "培训", "教育", "团队"]),
        new("infrastructure", ["infrastructure", "infrastructures", "facilities", "facility", "grid", "grids"],
            ["基础设施", "设施", "电网"]),
        new("demand", ["demand", "demands", "customer", "customers", "consumer", "consumers", "user", "users"],
            ["需求", "用户", "消费者", "客户"]),
        new("safety", ["safety", "safe", "unsafe", "security", "secure", "risk", "risks", "risky", "hazard", "hazards", "accident", "accidents"],
            ["安全", "风险", "隐患", "事故"]),
        new("standards", ["standard", "standards", "standardization", "standardisation", "certification", "interoperability", "specification",
            "specifications"],
            ["标准", "规范", "认证"]),
        new("funding", ["funding", "fund", "funds", "funded", "investment", "investments", "invest", "financing", "finance", "financial", "subsidy",
            "subsidies", "capital", "budget", "budgets"],
            ["资金", "投资", "融资", "经费", "补贴", "资本", "预算"]),
        new("data", ["data", "dataset", "datasets", "database", "databases"],
            ["数据"]),
        new("supply-chain", ["supply", "supplies", "supplier", "suppliers"],
            ["供应链", "供应", "原材料", "断供"]),
        new("maturity", ["mature", "maturity", "immature", "readiness"],
            ["成熟"]),
    ];

    static readonly Dictionary<string, RationaleConcept> ByStem = Stems();
    // Chinese words as their bigrams, longest first so 基础设施 is taken before 设施.
    static readonly (string[] Bigrams, RationaleConcept Concept)[] ChineseWords = All
        .SelectMany(c => c.Chinese.Select(w => (Bigrams: Enumerable.Range(0, w.Length - 1).Select(i => w.Substring(i, 2)).ToArray(), Concept: c)))
        .OrderByDescending(x => x.Bigrams.Length).ToArray();

    static Dictionary<string, RationaleConcept> Stems()
    {
        var map = new Dictionary<string, RationaleConcept>(StringComparer.Ordinal);
        foreach (var c in All)
            foreach (var word in c.English)
            {
                var stem = PorterStemmer.Stem(word);
                if (map.TryGetValue(stem, out var other) && other != c)
                    throw new InvalidOperationException($"'{word}' stems to '{stem}', already taken by {other.Id}");
                map[stem] = c;
            }
        return map;
    }

    /// <summary>The concept an English stem belongs to, or null.</summary>
    public static RationaleConcept? OfStem(string stem) => ByStem.GetValueOrDefault(stem);

    /// <summary>
    /// Replaces, in place, the tokens of the listed words by their concept's term (the surface is kept, so labels
    /// could still show the word). A Chinese word is found as its consecutive bigrams within the token list.
    /// </summary>
    public static void Rewrite(List<Token> tokens)
    {
        var result = new List<Token>(tokens.Count);
        for (int i = 0; i < tokens.Count;)
        {
            var t = tokens[i];
            if (ByStem.TryGetValue(t.Term, out var concept)) { result.Add(new Token(concept.Term, t.Surface)); i++; continue; }
            int matched = 0;
            if (IsBigram(t.Term))
                foreach (var (bigrams, c) in ChineseWords)
                {
                    if (i + bigrams.Length > tokens.Count) continue;
                    int j = 0;
                    while (j < bigrams.Length && tokens[i + j].Term == bigrams[j]) j++;
                    if (j < bigrams.Length) continue;
                    // The bigrams straddling the word's edges (本太 in 成本太高) are half this word: dropped, so a
                    // Chinese rationale is not made less like its English twin by fragments of the shared word.
                    if (i > 0 && result.Count > 0 && result[^1].Term == tokens[i - 1].Term && IsBigram(tokens[i - 1].Term)
                        && tokens[i - 1].Term[1] == bigrams[0][0])
                        result.RemoveAt(result.Count - 1);
                    result.Add(new Token(c.Term, string.Concat(bigrams.Select((b, k) => k == 0 ? b : b[1..]))));
                    matched = bigrams.Length;
                    if (i + matched < tokens.Count && IsBigram(tokens[i + matched].Term) && tokens[i + matched].Term[0] == bigrams[^1][1]
                        && !StartsWord(tokens, i + matched))
                        matched++;
                    break;
                }
            if (matched > 0) i += matched;
            else { result.Add(t); i++; }
        }
        tokens.Clear();
        tokens.AddRange(result);
    }

    static bool IsBigram(string term) => term.Length == 2 && Tokenizer.IsCjk(term[0]);

    /// <summary>Whether a listed Chinese word starts at tokens[i] (then the bigram there is kept for it: 安全监管).</summary>
    static bool StartsWord(List<Token> tokens, int i)
    {
        foreach (var (bigrams, _) in ChineseWords)
        {
            if (i + bigrams.Length > tokens.Count) continue;
            int j = 0;
            while (j < bigrams.Length && tokens[i + j].Term == bigrams[j]) j++;
            if (j == bigrams.Length) return true;
        }
        return false;
    }
}
