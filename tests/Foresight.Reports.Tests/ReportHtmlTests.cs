using System.Text.RegularExpressions;
using Foresight.Core.Surveys;

namespace Foresight.Reports.Tests;

/// <summary>The HTML on its own: what it says, in which language, and that its parts hold together.</summary>
public class ReportHtmlTests
{
    static readonly ReportModel En = Studies.QuickStart(Languages.English);
    static readonly ReportModel Zh = Studies.QuickStart(Languages.Chinese);

    [Fact]
    public void Every_topic_is_reported_in_the_reports_language()
    {
        var en = ReportHtml.Render(En);
        var zh = ReportHtml.Render(Zh);
        foreach (var t in En.Topics)
        {
            Assert.Contains(System.Net.WebUtility.HtmlEncode(t.Title.En!), en);
            Assert.DoesNotContain(t.Title.Zh!, en);
            Assert.Contains(System.Net.WebUtility.HtmlEncode(t.Title.Zh!), zh);
            Assert.DoesNotContain(t.Title.En!, zh);
        }
        Assert.Contains("<html lang=\"en\">", en);
        Assert.Contains("<html lang=\"zh-CN\">", zh);
        Assert.Contains("达成共识", zh);
        Assert.Contains("Round 2 results", en);
        Assert.Contains("第 2 轮调查结果报告", zh);
    }

    [Fact]
    public void The_contents_link_to_sections_that_exist()
    {
        var html = ReportHtml.Render(En);
        var ids = Regex.Matches(html, "id=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToHashSet();
        var links = Regex.Matches(html, "href=\"#([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.True(links.Count >= En.Topics.Count() + 5);
        Assert.All(links, l => Assert.Contains(l, ids));
        Assert.All(En.Topics, t => Assert.Contains("topic-" + t.Code, ids));
    }

    [Fact]
    public void The_summary_shows_the_consensus_figures()
    {
        var html = ReportHtml.Render(En);
        foreach (var t in En.Topics)
        {
            var q = t.Result.Question("importance")!.Summary!;
            var row = Regex.Match(html, $"<tr><td><a href=\"#topic-{t.Code}\">.*?</tr>").Value;
            Assert.Contains($"<td class=\"num\">{q.N}</td>", row);
            Assert.Contains($"<td class=\"num\">{Svg.Num(q.Median)}</td>" +
                $"<td class=\"num\">{Svg.Num(q.Iqr)}</td><td class=\"num\">{Svg.Num(q.PctAgree, 0)}%</td>", row);
            Assert.Contains($"state-{t.Result.State}", row);
        }
        Assert.Contains("<thead>", html);
    }

    [Fact]
    public void Method_rules_hash_and_anonymity_are_stated()
    {
        var html = ReportHtml.Render(En);
        Assert.Contains(En.DataHash, html);
        Assert.Contains(En.DataVersion, html);
        Assert.Contains("Rules declared before round 1 (version 1)", html);
        Assert.Contains("IQR ≤ 1", html);
        Assert.Contains("agreement ≥ 70%", html);
        Assert.Contains("Hyndman and Fan", html);
        Assert.Contains("fewer than 5", html);            // 2 enterprise experts: not shown as a number
        Assert.DoesNotContain(">2</td></tr>", html.Split("<h2>Panel composition</h2>")[1].Split("</section>")[0]);
        Assert.Contains("Pilot plants already run at scale.", html); // a rationale, without its author
        Assert.DoesNotContain("E03", html);
        Assert.Contains("评论 comment on Q-T01", html);
    }

    [Fact]
    public void Polarized_topics_and_minority_views_are_called_out()
    {
        var html = ReportHtml.Render(En);
        var section = html.Split("id=\"polarized\"")[1].Split("</section>")[0];
        Assert.Contains("A-T03", section);
        Assert.Contains("dissensus", section);
        Assert.Contains("Camps: 50% at the low end, 50% at the high end", section);
        Assert.True(En.Topics.Single(t => t.Code == "A-T03").Result.Polarized);
    }

    [Fact]
    public void Charts_are_inline_svg_with_text_alternatives()
    {
        var html = ReportHtml.Render(En);
        int charts = Regex.Matches(html, "<svg class=\"chart").Count;
        Assert.True(charts >= En.Topics.Count() * 4, $"{charts} charts");
        Assert.Equal(charts, Regex.Matches(html, "<svg class=\"chart[^>]*role=\"img\" aria-label=\"[^\"]+\"").Count);
        Assert.Contains("Spread over rounds", html); // box plots over the two rounds
        Assert.DoesNotContain("src=\"http", html);
    }

    [Fact]
    public void The_web_page_links_its_stylesheet_and_the_print_version_inlines_it()
    {
        var web = ReportHtml.Render(En, "/css/report.css");
        Assert.Contains("<link rel=\"stylesheet\" href=\"/css/report.css\">", web);
        Assert.DoesNotContain("<style>", web);
        Assert.Contains("<style>", ReportHtml.Render(En));
        Assert.Contains("font-synthesis: none", ReportHtml.Css);
    }
}
