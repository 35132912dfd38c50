using System.Globalization;
using System.Net;
using System.Text;
using Foresight.Core.Statistics;

namespace Foresight.Reports;

/// <summary>
/// Charts as SVG made on the server: the same markup appears in the web page and in the PDF, and its text stays text
/// (extractable, searchable). Every chart carries its text alternative (role="img" and aria-label).
/// </summary>
public static class Svg
{
    const string Font = "font-family=\"WenQuanYi Micro Hei, sans-serif\"";
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Num(double? v, int digits = 2)
    {
        if (v is not { } x || double.IsNaN(x)) return "–";
        var s = Math.Round(x, digits).ToString("0." + new string('#', digits), Inv);
        return s == "-0" ? "0" : s;
    }

    static string E(string s) => WebUtility.HtmlEncode(s);
    static string F(double v) => v.ToString("0.#", Inv);

    /// <summary>
    /// A distribution as one stacked bar: a segment per category, its width the category's share, darker for higher
    /// categories and darkest for the median's. The categories and counts are written beside it (text in charts is
    /// costly to print at national scale), and the chart carries them as its text alternative.
    /// </summary>
    public static string DistributionBar(string title, IReadOnlyList<(string Label, int Count)> bars, string? highlight = null)
    {
        const double width = 150, height = 9;
        int total = bars.Sum(b => b.Count);
        var alt = string.Join(", ", bars.Select(b => $"{b.Label}: {b.Count}"));
        var sb = new StringBuilder();
        sb.Append($"<svg class=\"chart bar\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {F(width)} {F(height)}\" width=\"{F(width)}\" " +
            $"height=\"{F(height)}\" role=\"img\" aria-label=\"{E(title + ": " + alt)}\">");
        // No background rectangle under the segments: at national scale every element in a chart costs print time.
        if (total == 0) sb.Append($"<rect width=\"{F(width)}\" height=\"{F(height)}\" fill=\"#eef1f4\"/>");
        double x = 0;
        for (int i = 0; i < bars.Count; i++)
        {
            var (label, count) = bars[i];
            if (total == 0 || count == 0) continue;
            double w = width * count / total;
            double shade = bars.Count > 1 ? (double)i / (bars.Count - 1) : 1;
            string fill = label == highlight ? "#0b4f94" : Shade(shade);
            sb.Append($"<rect x=\"{F(x)}\" width=\"{F(Math.Max(w - 0.6, 0.4))}\" height=\"{F(height)}\" fill=\"{fill}\"/>");
            x += w;
        }
        sb.Append("</svg>");
        return sb.ToString();
    }

    /// <summary>One box per round on a shared scale: whiskers min-max, box Q1-Q3, a line at the median.</summary>
    public static string BoxPlots(string title, IReadOnlyList<(string Label, ItemSummary? Stats)> rounds, double scaleMin, double scaleMax)
    {
        const double width = 150, row = 11, left = 28, right = 10, top = 3;
        double height = top + row * Math.Max(rounds.Count, 1) + 12;
        double span = Math.Max(scaleMax - scaleMin, 1e-9);
        double X(double v) => left + (width - left - right) * (Math.Clamp(v, scaleMin, scaleMax) - scaleMin) / span;
        var alt = string.Join("; ", rounds.Select(r => r.Stats is { N: > 0 } s
            ? $"{r.Label}: median {Num(s.Median)}, Q1 {Num(s.Q1)}, Q3 {Num(s.Q3)}, n {s.N}" : $"{r.Label}: –"));
        var sb = new StringBuilder();
        sb.Append($"<svg class=\"chart box\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {F(width)} {F(height)}\" width=\"{F(width)}\" " +
            $"height=\"{F(height)}\" role=\"img\" aria-label=\"{E(title + ": " + alt)}\" {Font} font-size=\"7\">");
        for (int i = 0; i < rounds.Count; i++)
        {
            var (label, s) = rounds[i];
            double y = top + row * i + row / 2;
            sb.Append($"<text x=\"0\" y=\"{F(y + 3)}\" fill=\"#4f5863\">{E(label)}</text>");
            if (s is not { N: > 0, Min: { } mn, Max: { } mx, Q1: { } q1, Q3: { } q3, Median: { } md }) continue;
            sb.Append($"<line x1=\"{F(X(mn))}\" y1=\"{F(y)}\" x2=\"{F(X(mx))}\" y2=\"{F(y)}\" stroke=\"#4f5863\" stroke-width=\"0.8\"/>");
            sb.Append($"<line x1=\"{F(X(mn))}\" y1=\"{F(y - 3)}\" x2=\"{F(X(mn))}\" y2=\"{F(y + 3)}\" stroke=\"#4f5863\" stroke-width=\"0.8\"/>");
            sb.Append($"<line x1=\"{F(X(mx))}\" y1=\"{F(y - 3)}\" x2=\"{F(X(mx))}\" y2=\"{F(y + 3)}\" stroke=\"#4f5863\" stroke-width=\"0.8\"/>");
            sb.Append($"<rect x=\"{F(X(q1))}\" y=\"{F(y - 3.5)}\" width=\"{F(Math.Max(X(q3) - X(q1), 1))}\" height=\"7\" fill=\"#cfe0f3\" stroke=\"#0b4f94\" " +
                "stroke-width=\"0.8\"/>");
            sb.Append($"<line x1=\"{F(X(md))}\" y1=\"{F(y - 3.5)}\" x2=\"{F(X(md))}\" y2=\"{F(y + 3.5)}\" stroke=\"#0b4f94\" stroke-width=\"1.6\"/>");
        }
        double axis = top + row * rounds.Count + 4;
        sb.Append($"<line x1=\"{F(left)}\" y1=\"{F(axis)}\" x2=\"{F(width - right)}\" y2=\"{F(axis)}\" stroke=\"#7a838d\" stroke-width=\"0.6\"/>");
        foreach (var tick in Ticks(scaleMin, scaleMax))
            sb.Append($"<text x=\"{F(X(tick))}\" y=\"{F(axis + 8)}\" text-anchor=\"middle\" fill=\"#4f5863\">{Num(tick, 0)}</text>");
        sb.Append("</svg>");
        return sb.ToString();
    }

    /// <summary>Horizontal bars: the share of experts choosing each option.</summary>
    public static string Frequencies(string title, IReadOnlyList<(string Label, double Pct)> items)
    {
        const double width = 150, row = 10, labelWidth = 78, top = 1;
        double height = top + row * Math.Max(items.Count, 1) + 2;
        var alt = string.Join(", ", items.Select(i => $"{i.Label}: {Num(i.Pct, 0)}%"));
        var sb = new StringBuilder();
        sb.Append($"<svg class=\"chart freq\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {F(width)} {F(height)}\" width=\"{F(width)}\" " +
            $"height=\"{F(height)}\" role=\"img\" aria-label=\"{E(title + ": " + alt)}\" {Font} font-size=\"7\">");
        for (int i = 0; i < items.Count; i++)
        {
            var (label, pct) = items[i];
            double y = top + row * i;
            double w = (width - labelWidth - 22) * Math.Clamp(pct, 0, 100) / 100;
            sb.Append($"<text x=\"0\" y=\"{F(y + 7.5)}\" fill=\"#1b1f24\">{E(Short(label, 11))}</text>");
            sb.Append($"<rect x=\"{F(labelWidth)}\" y=\"{F(y + 1.5)}\" width=\"{F(Math.Max(w, 0.5))}\" height=\"7\" fill=\"#7fa7d4\"/>");
            sb.Append($"<text x=\"{F(labelWidth + w + 2)}\" y=\"{F(y + 7.5)}\" fill=\"#1b1f24\">{Num(pct, 0)}%</text>");
        }
        sb.Append("</svg>");
        return sb.ToString();
    }

    /// <summary>A blue from light (0) to dark (1), as a hex colour (cheaper for chromium to print than hsl()).</summary>
    static string Shade(double t)
    {
        // hsl(212, 45%, 86%) .. hsl(212, 45%, 50%)
        (int R, int G, int B) light = (203, 219, 235), dark = (70, 126, 185);
        int Mix(int a, int b) => (int)Math.Round(a + (b - a) * t);
        return $"#{Mix(light.R, dark.R):x2}{Mix(light.G, dark.G):x2}{Mix(light.B, dark.B):x2}";
    }

    static IEnumerable<double> Ticks(double min, double max)
    {
        // At most about six labels, so that four-digit years do not run into each other.
        double span = max - min;
        double step = new[] { 1.0, 2, 5, 10, 20, 50, 100 }.FirstOrDefault(s => span / s <= 6, 100);
        for (double t = Math.Ceiling(min / step) * step; t <= max + 1e-9; t += step) yield return t;
    }

    /// <summary>Shortens a label to about n characters (CJK counted double), keeping it readable.</summary>
    static string Short(string s, int n)
    {
        double width = 0;
        for (int i = 0; i < s.Length; i++)
        {
            width += s[i] > 0x2E80 ? 2 : 1;
            if (width > n * 2) return s[..i] + "…";
        }
        return s;
    }
}
