using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;
using Foresight.Core.Consensus;
using Foresight.Core.Statistics;
using Foresight.Core.Surveys;

namespace Foresight.Reports;

/// <summary>
/// A report as one HTML document in one language: cover, contents (linked), overview and response, method, summary of
/// topics, dissensus and minority views, results by field and topic with charts, key-technology ranking.
/// </summary>
public static class ReportHtml
{
    public static readonly string Css = ReadCss();

    static string ReadCss()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("report.css")!;
        return new StreamReader(stream).ReadToEnd();
    }

    /// <param name="stylesheet">a URL for the web page (its CSP forbids inline styles); null puts the CSS inline (for printing)</param>
    public static string Render(ReportModel m, string? stylesheet = null)
    {
        var t = new ReportText(m.Language);
        var h = new StringBuilder(64 * 1024);
        string title = m.Kind == "study" ? t["study.report"] : t.Format("round.report", m.Round);
        h.Append("<!DOCTYPE html><html lang=\"").Append(m.Language).Append("\"><head><meta charset=\"utf-8\">");
        h.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        h.Append("<title>").Append(E(t.Of(m.Survey.Title) + " · " + title)).Append("</title>");
        if (stylesheet is null) h.Append("<style>").Append(Css).Append("</style>");
        else h.Append("<link rel=\"stylesheet\" href=\"").Append(E(stylesheet)).Append("\">");
        h.Append("</head><body><main class=\"report\">");
        Cover(h, m, t, title);
        Contents(h, m, t);
        Overview(h, m, t);
        Method(h, m, t);
        Summary(h, m, t);
        Polarized(h, m, t);
        Results(h, m, t);
        Ranking(h, m, t);
        Machine(h, m, t);
        h.Append("</main></body></html>");
        return h.ToString();
    }

    static string E(string? s) => WebUtility.HtmlEncode(s ?? "");
    static string N(double? v, int digits = 2) => Svg.Num(v, digits);
    static string Date(DateTimeOffset? d) => d is { } x ? x.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture) : "–";
    static string Pct(double? v) => v is null ? "–" : N(v, 0) + "%";
    static string Anchor(string code) => "topic-" + code;

    static void Cover(StringBuilder h, ReportModel m, ReportText t, string title)
    {
        var round = m.Rounds.FirstOrDefault(r => r.Number == m.Round);
        h.Append("<section class=\"cover\"><h1>").Append(E(title)).Append("</h1>");
        h.Append("<p class=\"survey\">").Append(E(t.Of(m.Survey.Title))).Append("</p><dl>");
        if (round is not null)
        {
            h.Append("<dt>").Append(t["opened"]).Append("</dt><dd>").Append(Date(round.OpenedAt)).Append("</dd>");
            h.Append("<dt>").Append(t["closed"]).Append("</dt><dd>").Append(Date(round.ClosedAt)).Append("</dd>");
            h.Append("<dt>").Append(t["response.rate"]).Append("</dt><dd>")
                .Append(round.Responded).Append(" / ").Append(round.Invited).Append(" (").Append(Pct(Rate(round.Responded, round.Invited))).Append(")</dd>");
        }
        h.Append("<dt>").Append(t["panel.size"]).Append("</dt><dd>").Append(m.Panel.Size).Append("</dd>");
        h.Append("<dt>").Append(t["generated"]).Append("</dt><dd>").Append(Date(m.GeneratedAt)).Append("</dd>");
        h.Append("<dt>").Append(t.Format("data.hash", m.Round)).Append("</dt><dd class=\"hash\">").Append(E(m.DataHash)).Append("</dd>");
        h.Append("<dt>").Append(t["data.version"]).Append("</dt><dd class=\"hash\">").Append(E(m.DataVersion)).Append("</dd>");
        h.Append("</dl>");
        h.Append("<h2>").Append(t["panel"]).Append("</h2>");
        Composition(h, m, t, t["org_type"], m.Panel.ByOrgType);
        Composition(h, m, t, t["region"], m.Panel.ByRegion);
        h.Append("</section>");
    }

    static void Composition(StringBuilder h, ReportModel m, ReportText t, string heading, IReadOnlyList<GroupCount> groups)
    {
        h.Append("<table><thead><tr><th>").Append(E(heading)).Append("</th><th class=\"num\">").Append(t["experts"]).Append("</th></tr></thead><tbody>");
        foreach (var g in groups)
        {
            var label = g.Label is null ? (g.Code.Length == 0 ? t["unknown"] : g.Code) : t.Of(g.Label);
            var count = g.Count < m.MinGroupSize ? t.Format("fewer", m.MinGroupSize) : g.Count.ToString(CultureInfo.InvariantCulture);
            h.Append("<tr><td>").Append(E(label)).Append("</td><td class=\"num\">").Append(E(count)).Append("</td></tr>");
        }
        h.Append("</tbody></table>");
    }

    static void Contents(StringBuilder h, ReportModel m, ReportText t)
    {
        h.Append("<nav class=\"toc\" aria-labelledby=\"toc-title\"><h2 id=\"toc-title\">").Append(t["contents"]).Append("</h2><ol>");
        foreach (var (id, key) in new[] { ("overview", "overview"), ("method", "method"), ("summary", "summary"), ("polarized", "polarized") })
            h.Append("<li><a href=\"#").Append(id).Append("\">").Append(t[key]).Append("</a></li>");
        h.Append("<li><a href=\"#results\">").Append(t["results"]).Append("</a><ol>");
        foreach (var f in m.Fields)
        {
            h.Append("<li><a href=\"#field-").Append(E(f.Code)).Append("\">").Append(E(f.Code + " " + t.Of(f.Name))).Append("</a><ol>");
            foreach (var topic in f.Topics)
                h.Append("<li><a href=\"#").Append(E(Anchor(topic.Code))).Append("\">").Append(E(topic.Code)).Append(' ').Append(E(t.Of(topic.Title)))
                    .Append("</a></li>");
            h.Append("</ol></li>");
        }
        h.Append("</ol></li>");
        if (m.Ranking.Count > 0 || m.Selections.Count > 0) h.Append("<li><a href=\"#ranking\">").Append(t["ranking"]).Append("</a></li>");
        if (m.Machine is not null) h.Append("<li><a href=\"#machine\">").Append(t["machine"]).Append("</a></li>");
        h.Append("</ol></nav>");
    }

    static double? Rate(int part, int whole) => whole == 0 ? null : 100.0 * part / whole;

    static void Overview(StringBuilder h, ReportModel m, ReportText t)
    {
        h.Append("<section id=\"overview\"><h2>").Append(t["overview"]).Append("</h2>");
        if (m.Survey.Description is { } d) h.Append("<p>").Append(E(t.Of(d))).Append("</p>");
        h.Append("<h3>").Append(t["rounds"]).Append("</h3><table><thead><tr>");
        foreach (var key in new[] { "round", "opened", "closed" }) h.Append("<th>").Append(t[key]).Append("</th>");
        foreach (var key in new[] { "topics", "invited", "responded", "response.rate", "finished", "dropout", "settled", "rules.version" })
            h.Append("<th class=\"num\">").Append(t[key]).Append("</th>");
        h.Append("</tr></thead><tbody>");
        foreach (var r in m.Rounds)
        {
            h.Append("<tr><td>").Append(r.Number).Append("</td><td>").Append(Date(r.OpenedAt)).Append("</td><td>").Append(Date(r.ClosedAt)).Append("</td>");
            foreach (var v in new object?[] { r.Topics, r.Invited, r.Responded, Pct(Rate(r.Responded, r.Invited)), r.Finished, r.Dropped?.ToString() ?? "–",
                r.Settled, r.RulesVersion })
                h.Append("<td class=\"num\">").Append(E(Convert.ToString(v, CultureInfo.InvariantCulture))).Append("</td>");
            h.Append("</tr>");
        }
        h.Append("</tbody></table></section>");
    }

    static string ScaleOf(Question q, ReportText t) => q.Kind switch
    {
        QuestionKind.Rating => $"{q.Min}–{q.Max}" + (q.IsRandUcla ? " (RAND/UCLA)" : ""),
        QuestionKind.Year when q.Options.Count == 0 => $"{q.Min}–{q.Max}",
        QuestionKind.Text => "",
        _ => string.Join("; ", q.Options.Select(o => $"{o.Code} {t.Of(o.Label)}")),
    };

    static void Method(StringBuilder h, ReportModel m, ReportText t)
    {
        var s = m.Survey;
        h.Append("<section id=\"method\"><h2>").Append(t["method"]).Append("</h2>");
        h.Append("<h3>").Append(t["questions"]).Append("</h3><table><thead><tr><th>").Append(t["question"]).Append("</th><th>").Append(t["kind"])
            .Append("</th><th>").Append(t["scale"]).Append("</th><th>").Append(t["agree.set"]).Append("</th></tr></thead><tbody>");
        foreach (var q in s.Questions)
        {
            h.Append("<tr><td><span class=\"code\">").Append(E(q.Id)).Append("</span> ").Append(E(t.Of(q.Text))).Append("</td><td>")
                .Append(t["kind." + q.Kind switch { QuestionKind.MultiChoice => "multi_choice", var k => k.ToString().ToLowerInvariant() }])
                .Append("</td><td class=\"small\">")
                .Append(E(ScaleOf(q, t))).Append("</td><td>").Append(E(string.Join(", ", q.Agree.Select(a => N(a))))).Append("</td></tr>");
        }
        h.Append("</tbody></table>");
        h.Append("<h3>").Append(t["rules"]).Append("</h3>");
        h.Append("<h4>").Append(t.Format("rules.declared", m.DeclaredRulesVersion)).Append("</h4>");
        Rules(h, m.DeclaredRules, s, t);
        if (m.RoundRulesVersion != m.DeclaredRulesVersion)
        {
            h.Append("<h4>").Append(t.Format("rules.used", m.RoundRulesVersion)).Append("</h4>");
            Rules(h, m.RoundRules, s, t);
        }
        else h.Append("<p class=\"muted\">").Append(t["rules.same"]).Append("</p>");
        h.Append("<h3>").Append(t["conventions"]).Append("</h3><ul>");
        for (int i = 1; i <= 6; i++) h.Append("<li>").Append(E(t.Format("conv." + i, m.MinGroupSize))).Append("</li>");
        h.Append("</ul></section>");
    }

    static void Rules(StringBuilder h, ConsensusRules r, SurveyDefinition s, ReportText t)
    {
        h.Append("<ul><li>").Append(t["min_n"]).Append(": ").Append(r.MinN).Append("</li>");
        foreach (var c in r.Criteria)
        {
            var parts = new List<string>();
            if (c.IqrMax is { } iqr) parts.Add(t.Format("iqr_max", N(iqr)));
            if (c.AgreeMinPct is { } agree) parts.Add(t.Format("agree_min", N(agree)));
            if (c.SdMax is { } sd) parts.Add(t.Format("sd_max", N(sd)));
            if (c.CvMax is { } cv) parts.Add(t.Format("cv_max", N(cv)));
            h.Append("<li>").Append(t["criterion"]).Append(" · <span class=\"code\">").Append(E(c.Question)).Append("</span> ")
                .Append(E(t.Of(s.Question(c.Question)?.Text))).Append(": ").Append(E(string.Join(t.Chinese ? "，" : ", ", parts))).Append("</li>");
        }
        h.Append("<li>").Append(E(t.Format("stability", N(r.StabilityMaxPctChanged),
            r.StabilityWilcoxonAlpha is { } a ? t.Format("stability.wilcoxon", N(a)) : ""))).Append("</li>");
        h.Append("<li>").Append(E(t.Format("polarization.rule", N(r.MinCampPct, 1)))).Append("</li>");
        var retire = r.RetireWhen switch
        {
            RetireWhen.Stable => "stable", RetireWhen.ConsensusOrStable => "consensus_or_stable",
            RetireWhen.ConsensusAndStable => "consensus_and_stable", _ => "consensus",
        };
        h.Append("<li>").Append(E(t.Format("stop.rule", t["retire." + retire], r.MaxRounds, N(r.SettledPct)))).Append("</li></ul>");
    }

    /// <summary>The question the summary shows: the first ordinal or rating question the rules judge.</summary>
    static Question? MainQuestion(SurveyDefinition s) =>
        s.Consensus.Criteria.Select(c => s.Question(c.Question)).FirstOrDefault(q => q is { Kind: QuestionKind.Ordinal or QuestionKind.Rating })
        ?? s.Questions.FirstOrDefault(q => q.Kind is QuestionKind.Ordinal or QuestionKind.Rating && q.Role != QuestionRole.Familiarity);

    public static (double? Plain, double? FamW) Index(SurveyDefinition s, TopicResult r)
    {
        var plain = s.IndexQuestions.Select(q => r.Question(q.Id)?.Summary?.ImportanceIndex).Where(v => v is not null).ToList();
        var famw = s.IndexQuestions.Select(q => r.Question(q.Id)?.Summary?.ImportanceIndexFamW).Where(v => v is not null).ToList();
        return (plain.Count > 0 ? plain.Average() : null, famw.Count > 0 ? famw.Average() : null);
    }

    static void Summary(StringBuilder h, ReportModel m, ReportText t)
    {
        var s = m.Survey;
        var main = MainQuestion(s);
        var year = s.Questions.FirstOrDefault(q => q.Kind == QuestionKind.Year && q.AskedIn(m.Round));
        h.Append("<section id=\"summary\"><h2>").Append(t["summary"]).Append("</h2>");
        if (main is not null) h.Append("<p class=\"small muted\">").Append(E(t["median"] + " / " + t["iqr"] + " / " + t["agree"] + ": " + t.Of(main.Text)))
            .Append("</p>");
        // Fixed column widths: long Chinese headers and states wrap inside their column instead of squeezing the others.
        h.Append("<table class=\"summary\"><colgroup><col class=\"w-topic\">");
        for (int i = 0; i < 6; i++) h.Append("<col class=\"w-num\">");
        h.Append("<col class=\"w-year\"><col class=\"w-state\"><col class=\"w-change\"><col class=\"w-decision\"></colgroup><thead><tr><th>").Append(t["topic"])
            .Append("</th>");
        foreach (var key in new[] { "n", "median", "iqr", "agree", "index", "index.famw" }) h.Append("<th class=\"num\">").Append(t[key]).Append("</th>");
        h.Append("<th class=\"num\">").Append(t["year"]).Append("</th><th>").Append(t["state"]).Append("</th><th>").Append(t["change"])
            .Append("</th><th>").Append(t["decision"]).Append("</th></tr></thead><tbody>");
        foreach (var topic in m.Topics)
        {
            var r = topic.Result;
            var q = main is null ? null : r.Question(main.Id);
            var (ii, famw) = Index(s, r);
            var y = year is null ? null : r.Question(year.Id)?.Summary;
            h.Append("<tr><td><a href=\"#").Append(E(Anchor(topic.Code))).Append("\"><span class=\"code\">").Append(E(topic.Code)).Append("</span></a> ")
                .Append(E(t.Of(topic.Title))).Append("</td>");
            h.Append("<td class=\"num\">").Append(q?.Summary?.N.ToString(CultureInfo.InvariantCulture) ?? "–").Append("</td>");
            h.Append("<td class=\"num\">").Append(N(q?.Summary?.Median)).Append("</td><td class=\"num\">").Append(N(q?.Summary?.Iqr))
                .Append("</td><td class=\"num\">").Append(Pct(q?.Summary?.PctAgree)).Append("</td><td class=\"num\">").Append(N(ii, 1))
                .Append("</td><td class=\"num\">").Append(N(famw, 1)).Append("</td>");
            h.Append("<td class=\"num\">").Append(y is { N: > 0 } ? $"{N(y.Median, 0)}<br><span class=\"small muted\">{N(y.Q1, 0)}–{N(y.Q3, 0)}</span>" : "–")
                .Append("</td>");
            h.Append("<td class=\"state-").Append(r.State).Append("\">").Append(t["state." + r.State]).Append("</td><td class=\"small\">")
                .Append(E(Change(topic, main, t)))
                .Append("</td><td>").Append(topic.Decision is null ? "–" : t["decision." + topic.Decision]).Append("</td></tr>");
        }
        h.Append("</tbody></table></section>");
    }

    /// <summary>How the main question moved from the previous round: the median's change and the share of experts who changed.</summary>
    static string Change(ReportTopic topic, Question? main, ReportText t)
    {
        if (main is null) return "";
        var before = topic.History.LastOrDefault(x => x.Round < topic.History.Max(y => y.Round) && x.Result is not null).Result?.Question(main.Id)?.Summary;
        var now = topic.Result.Question(main.Id);
        if (before is null || now?.Summary is null) return "–";
        var parts = new List<string>();
        if (now.Summary.Median is { } a && before.Median is { } b) parts.Add((a - b >= 0 ? "+" : "") + N(a - b));
        if (now.Stability?.PctChanged is { } changed) parts.Add(t.Format("changed", N(changed, 0)));
        if (now.Stable is { } stable) parts.Add(stable ? t["stable.yes"] : t["stable.no"]);
        return string.Join(" · ", parts);
    }

    static void Polarized(StringBuilder h, ReportModel m, ReportText t)
    {
        h.Append("<section id=\"polarized\"><h2>").Append(t["polarized"]).Append("</h2>");
        var rows = new List<(ReportTopic Topic, QuestionResult Q, PolarizationResult P)>();
        foreach (var topic in m.Topics)
            foreach (var q in topic.Result.Questions)
                // Dissensus, and consensus that a minority does not share; every other minority is shown at its topic.
                if (q.Summary?.Polarization is { } p && (p.Polarized || p.MinorityPct is not null && q.State == "consensus"
                    && m.Survey.Consensus.Criteria.Any(c => c.Question == q.Question)))
                    rows.Add((topic, q, p));
        if (!rows.Any(r => r.P.Polarized)) h.Append("<p>").Append(t["polarized.none"]).Append("</p>");
        if (rows.Count > 0)
        {
            h.Append("<table><thead><tr><th>").Append(t["topic"]).Append("</th><th>").Append(t["question"]).Append("</th><th>").Append(t["state"])
                .Append("</th><th>").Append(t["polarized"]).Append("</th></tr></thead><tbody>");
            foreach (var (topic, q, p) in rows.OrderByDescending(r => r.P.Polarized))
            {
                var notes = new List<string> { t.Format("camps", N(p.LowPct, 0), N(p.HighPct, 0)) };
                if (p.MinoritySide is not null) notes.Add(t.Format("minority", N(p.MinorityPct, 0), t["side." + p.MinoritySide], N(p.MinorityMedian)));
                h.Append("<tr><td><a href=\"#").Append(E(Anchor(topic.Code))).Append("\"><span class=\"code\">").Append(E(topic.Code)).Append("</span></a> ")
                    .Append(E(t.Of(topic.Title))).Append("</td><td>").Append(E(t.Of(m.Survey.Question(q.Question)?.Text))).Append("</td><td>")
                    .Append(p.Polarized ? "<span class=\"flag\">" + t["state.dissensus"] + "</span>" : E(t["state." + (q.State ?? topic.Result.State)]))
                    .Append("</td><td class=\"small\">").Append(E(string.Join(" · ", notes))).Append("</td></tr>");
            }
            h.Append("</tbody></table>");
        }
        h.Append("</section>");
    }

    static void Results(StringBuilder h, ReportModel m, ReportText t)
    {
        h.Append("<section id=\"results\"><h2>").Append(t["results"]).Append("</h2>");
        foreach (var f in m.Fields)
        {
            h.Append("<section class=\"field\" id=\"field-").Append(E(f.Code)).Append("\"><h2>").Append(E(f.Code + " " + t.Of(f.Name))).Append("</h2>");
            foreach (var topic in f.Topics) Topic(h, m, t, topic);
            h.Append("</section>");
        }
        h.Append("</section>");
    }

    static void Topic(StringBuilder h, ReportModel m, ReportText t, ReportTopic topic)
    {
        var s = m.Survey;
        var r = topic.Result;
        h.Append("<article class=\"topic\" id=\"").Append(E(Anchor(topic.Code))).Append("\"><h3><span class=\"code\">").Append(E(topic.Code)).Append("</span> ")
            .Append(E(t.Of(topic.Title))).Append("</h3>");
        h.Append("<p class=\"small muted\">").Append(E(t.Format("respondents", r.Respondents, r.NotFamiliar))).Append(" · <span class=\"state-").Append(r.State)
            .Append("\">")
            .Append(t["state." + r.State]).Append("</span>");
        if (r.Stable is { } stable) h.Append(" · ").Append(stable ? t["stable.yes"] : t["stable.no"]);
        if (topic.Decision is not null) h.Append(" · ").Append(t["decision"]).Append(": ").Append(t["decision." + topic.Decision]);
        if (topic.Origin == "machine") h.Append(" <span class=\"flag machine\">").Append(t["origin.machine"]).Append("</span>");
        h.Append("</p>");
        if (topic.Background is { } bg) h.Append("<p class=\"small\"><strong>").Append(t["background"]).Append(":</strong> ").Append(E(t.Of(bg)))
            .Append("</p>");

        h.Append("<div class=\"questions\">");
        foreach (var q in r.Questions)
        {
            var question = s.Question(q.Question);
            if (question is null || question.Kind == QuestionKind.Text || question.Role == QuestionRole.Familiarity && r.Respondents == 0) continue;
            h.Append("<div class=\"question\"><h4>").Append(E(t.Of(question.Text))).Append("</h4>");
            if (question.Kind == QuestionKind.MultiChoice)
            {
                // The share of experts choosing each option: the three chosen most, in the chart and in words.
                var top = q.Counts.Where(c => c.Count > 0).OrderByDescending(c => c.Count).Take(3).ToList();
                h.Append(Svg.Frequencies(t["frequencies"] + " · " + t.Of(question.Text),
                    top.Select(c => (t.Of(question.OptionByCode(c.Code)?.Label), c.Pct)).ToList()));
                h.Append("<p class=\"stats\">n ").Append(q.Answered).Append("</p></div>");
                continue;
            }
            var bars = Bars(question, q);
            string? highlight = q.Summary?.Median is { } med ? MedianLabel(question, med) : null;
            h.Append(Svg.DistributionBar(t.Of(question.Text), bars, highlight));
            var parts = new List<string> { string.Join(" ", bars.Select(b => $"{b.Label}:{b.Count}")) };
            if (q.Summary is { } sum)
            {
                parts.Add($"n {sum.N} · {t["median"]} {N(sum.Median)} · Q1–Q3 {N(sum.Q1)}–{N(sum.Q3)}");
                if (sum.PctAgree is { } pa) parts.Add($"{t["agree"]} {N(pa, 0)}%");
                if (sum.NDontKnow > 0) parts.Add($"{t["dont_know"]} {sum.NDontKnow}");
                if (sum.NNever > 0) parts.Add(t.Format("never.share", N(sum.PctNever, 0)));
                if (sum.Rand is { } rand) parts.Add(t.Format("rand", N(rand.P30), N(rand.P70), N(rand.Ipr), N(rand.Ipras), t["rand." + rand.RandClass]));
                if (sum.Polarization is { MinoritySide: not null } p && s.Consensus.Criteria.Any(c => c.Question == question.Id))
                    parts.Add(t.Format("minority", N(p.MinorityPct, 0), t["side." + p.MinoritySide], N(p.MinorityMedian)));
            }
            else parts.Add($"n {q.Answered}");
            h.Append("<p class=\"stats\">").Append(E(string.Join(" · ", parts)));
            if (q.State is { } state) h.Append(" · <span class=\"state-").Append(state).Append("\">").Append(t["state." + state]).Append("</span>");
            if (q.Summary?.Polarization?.Polarized == true) h.Append(" <span class=\"flag\">").Append(t["state.dissensus"]).Append("</span>");
            h.Append("</p></div>");
        }
        h.Append("</div>");
        // The spread over rounds of the judged questions, when there was more than one round.
        var judged = r.Questions.Select(q => s.Question(q.Question)).Where(q => q is { IsNumeric: true } && s.Consensus.Criteria.Any(c => c.Question == q.Id))
            .ToList();
        if (topic.History.Count(x => x.Result is not null) > 1 && judged.Count > 0)
        {
            h.Append("<div class=\"questions\">");
            foreach (var question in judged)
            {
                var (lo, hi) = question!.ScaleBounds ?? (topic.History.Select(x => x.Result?.Question(question.Id)?.Summary?.Min).Where(v => v is not null)
                    .DefaultIfEmpty(0).Min()!.Value,
                                                         topic.History.Select(x => x.Result?.Question(question.Id)?.Summary?.Max).Where(v => v is not null)
                                                             .DefaultIfEmpty(1).Max()!.Value);
                h.Append("<div class=\"question\"><h4>").Append(t["spread"]).Append(" · ").Append(E(t.Of(question.Text))).Append("</h4>");
                h.Append(Svg.BoxPlots(t["spread"] + " · " + t.Of(question.Text),
                    topic.History.Select(x => (t["round"] + " " + x.Round, x.Result?.Question(question.Id)?.Summary)).ToList(), lo, hi));
                h.Append("</div>");
            }
            h.Append("</div>");
        }
        foreach (var q in r.Questions)
            if (topic.Rationales.TryGetValue(q.Question, out var rationales) && rationales.Count > 0
                && s.Question(q.Question) is { Kind: not QuestionKind.Text } question)
            {
                h.Append("<h4>").Append(t["rationales"]).Append(" · ").Append(E(t.Of(question.Text))).Append("</h4><ul class=\"rationales\">");
                foreach (var text in rationales) h.Append("<li>").Append(E(text)).Append("</li>");
                h.Append("</ul>");
            }
        foreach (var q in s.Questions.Where(q => q.Kind == QuestionKind.Text && q.ShowInFeedback))
            if (topic.Rationales.TryGetValue(q.Id, out var comments) && comments.Count > 0)
            {
                h.Append("<h4>").Append(t["comments"]).Append(" · ").Append(E(t.Of(q.Text))).Append("</h4><ul class=\"rationales\">");
                foreach (var text in comments) h.Append("<li>").Append(E(text)).Append("</li>");
                h.Append("</ul>");
            }
        h.Append("</article>");
    }

    /// <summary>The categories of a question's distribution chart: its options, or the points of its scale, or the years answered.</summary>
    static List<(string Label, int Count)> Bars(Question q, QuestionResult r)
    {
        if (r.Counts.Count > 0) return r.Counts.Select(c => (c.Code, c.Count)).ToList();
        var d = r.Summary?.Distribution ?? [];
        if (q.Kind == QuestionKind.Rating)
            return Enumerable.Range(q.Min!.Value, q.Max!.Value - q.Min.Value + 1)
                .Select(p => (p.ToString(CultureInfo.InvariantCulture), d.FirstOrDefault(x => x.Value == p).Count)).ToList();
        return d.Select(x => (N(x.Value, 0), x.Count)).ToList();
    }

    static string? MedianLabel(Question q, double median)
    {
        if (q.Options.Count > 0) return q.Options.OrderBy(o => Math.Abs((o.Value ?? double.MaxValue) - median)).FirstOrDefault()?.Code;
        return N(Math.Round(median), 0);
    }

    static void Ranking(StringBuilder h, ReportModel m, ReportText t)
    {
        if (m.Ranking.Count == 0 && m.Selections.Count == 0) return;
        h.Append("<section id=\"ranking\"><h2>").Append(t["ranking"]).Append("</h2>");
        if (m.Ranking.Count > 0)
        {
            h.Append("<table><thead><tr><th class=\"num\">").Append(t["rank"]).Append("</th><th>").Append(t["topic"]).Append("</th><th class=\"num\">")
                .Append(t["index"]).Append("</th><th class=\"num\">").Append(t["rank.famw"]).Append("</th><th class=\"num\">").Append(t["index.famw"])
                .Append("</th><th>").Append(t["state"]).Append("</th></tr></thead><tbody>");
            foreach (var k in m.Ranking)
                h.Append("<tr><td class=\"num\">").Append(k.Rank).Append("</td><td><span class=\"code\">").Append(E(k.Code)).Append("</span> ")
                    .Append(E(t.Of(k.Title)))
                    .Append("</td><td class=\"num\">").Append(N(k.ImportanceIndex, 1)).Append("</td><td class=\"num\">")
                    .Append(k.RankFamW?.ToString(CultureInfo.InvariantCulture) ?? "–")
                    .Append("</td><td class=\"num\">").Append(N(k.ImportanceIndexFamW, 1)).Append("</td><td class=\"state-").Append(k.State).Append("\">")
                    .Append(t["state." + k.State]).Append("</td></tr>");
            h.Append("</tbody></table>");
        }
        h.Append("<h3>").Append(t["selection"]).Append("</h3>");
        if (m.Selections.Count == 0) h.Append("<p>").Append(t["selection.none"]).Append("</p>");
        foreach (var sel in m.Selections)
        {
            h.Append("<p><strong>").Append(t["criteria"]).Append(":</strong> ").Append(E(sel.Criteria)).Append(" <span class=\"muted small\">(")
                .Append(Date(sel.At)).Append(", ").Append(t["round"]).Append(' ').Append(sel.Round).Append(")</span></p><ol>");
            foreach (var (_, code, title) in sel.Topics)
                h.Append("<li><span class=\"code\">").Append(E(code)).Append("</span> ").Append(E(t.Of(title))).Append("</li>");
            h.Append("</ol>");
        }
        h.Append("</section>");
    }

    static void Machine(StringBuilder h, ReportModel m, ReportText t)
    {
        if (m.Machine is not { } x) return;
        h.Append("<section id=\"machine\"><h2>").Append(t["machine"]).Append("</h2><p>")
            .Append(E(t.Format("machine.intro", x.Records, x.Analyses, x.Proposals, x.MachineTopics))).Append("</p>");
        h.Append("<table><thead><tr><th>").Append(t["machine.decision"]).Append("</th><th class=\"num\">").Append(t["machine.proposals"])
            .Append("</th><th class=\"num\">").Append(t["machine.share"]).Append("</th></tr></thead><tbody>");
        foreach (var (key, count, share) in new[] { ("accepted", x.Decided.Accepted, x.Shares.Accepted), ("edited", x.Decided.Edited, x.Shares.Edited),
            ("merged", x.Decided.Merged, x.Shares.Merged), ("split", x.Decided.Split, x.Shares.Split), ("rejected", x.Decided.Rejected, x.Shares.Rejected) })
            h.Append("<tr><td>").Append(t["machine." + key]).Append("</td><td class=\"num\">").Append(count).Append("</td><td class=\"num\">")
                .Append(Pct(share * 100)).Append("</td></tr>");
        h.Append("</tbody></table>");
        if (x.Open > 0) h.Append("<p>").Append(E(t.Format("machine.open", x.Open))).Append("</p>");
        h.Append("<p>").Append(E(x.AdjustedRandIndex is { } ari
            ? t.Format("machine.ari", N(ari, 3), x.AriRecords, x.AriProposals, x.AriFields)
            : t["machine.ari.none"])).Append("</p></section>");
    }
}
