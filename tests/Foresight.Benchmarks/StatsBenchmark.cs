using System.Diagnostics;
using System.Runtime.InteropServices;
using Foresight.Core.Consensus;
using Foresight.Core.Surveys;

namespace Foresight.Benchmarks;

/// <summary>
/// All consensus statistics of one round of a national-scale study: N topics, each with the national survey's
/// question set, about M answers in all, through RoundConsensus.Compute (what the server runs when a round closes).
/// The baseline of the same run is sorting the same number of doubles, the least any quantile computation costs.
/// The process is pinned to one core.
/// </summary>
public static class StatsBenchmark
{
    public static int Run(string[] args)
    {
        int topics = Arg(args, "--topics", 700);
        int answers = Arg(args, "--answers", 1_000_000);
        int repeat = Arg(args, "--repeat", 5);
        if (OperatingSystem.IsLinux()) Process.GetCurrentProcess().ProcessorAffinity = 1;

        var survey = SurveyFile.Parse(File.ReadAllText(FindSurvey()), "national-tf-2045.yaml").Survey!;
        var rules = survey.Consensus;
        var numeric = survey.Questions.Where(q => q.IsNumeric || q.Kind is QuestionKind.Choice or QuestionKind.MultiChoice).ToList();
        // Each expert-topic pair gives one answer per question of the set: experts per topic = M / (N * questions).
        int perTopic = Math.Max(1, answers / (topics * numeric.Count));
        var random = new Random(42);
        var roundTopics = new List<RoundTopic>();
        var rows = new List<AnswerRow>(topics * perTopic * numeric.Count);
        for (int t = 0; t < topics; t++)
        {
            var code = $"F{t % 16 + 1}-T{t:000}";
            roundTopics.Add(new RoundTopic(code, $"F{t % 16 + 1}", null));
            for (int e = 0; e < perTopic; e++)
            {
                var member = $"E{(t * 37 + e) % 5400:0000}";
                foreach (var q in numeric)
                {
                    var option = q.Options.Count > 0 ? q.Options[random.Next(q.Options.Count)] : null;
                    if (q.Role == QuestionRole.Familiarity) option = q.Options[random.Next(q.Options.Count - 1)];
                    rows.Add(q.Kind switch
                    {
                        QuestionKind.MultiChoice => new AnswerRow(member, code, q.Id, string.Join(';', q.Options.Take(1 + random.Next(2)).Select(o => o.Code)),
                            null),
                        QuestionKind.Choice => new AnswerRow(member, code, q.Id, option!.Code, null),
                        _ => new AnswerRow(member, code, q.Id, option!.Code, option.Value),
                    });
                }
            }
        }

        var numbers = rows.Where(r => r.Number is not null).Select(r => r.Number!.Value).ToArray();
        Console.WriteLine($"topics {topics}, experts per topic {perTopic}, questions {numeric.Count}, answers {rows.Count:N0} ({numbers.Length:N0} numeric)");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores visible, pinned to 1; {RuntimeInformation.FrameworkDescription}; " +
            $"{RuntimeInformation.OSDescription}");

        RoundConsensus.Compute(survey, rules, 1, roundTopics.Take(10).ToList(), rows.Take(10_000).ToList(), null); // warm up
        var times = new List<double>();
        var baseline = new List<double>();
        for (int i = 0; i < repeat; i++)
        {
            var copy = (double[])numbers.Clone();
            var sw = Stopwatch.StartNew();
            Array.Sort(copy);
            baseline.Add(sw.Elapsed.TotalMilliseconds);

            GC.Collect();
            sw.Restart();
            var result = RoundConsensus.Compute(survey, rules, 1, roundTopics, rows, null);
            times.Add(sw.Elapsed.TotalMilliseconds);
            if (result.Topics.Count != topics) throw new InvalidOperationException("wrong topic count");
        }
        double median = Median(times), sortMedian = Median(baseline);
        Console.WriteLine($"round consensus: median {median:0} ms over {repeat} runs (min {times.Min():0}, max {times.Max():0})");
        Console.WriteLine($"baseline, Array.Sort of the {numbers.Length:N0} numeric answers: median {sortMedian:0} ms");
        Console.WriteLine($"ratio consensus / sort: {median / sortMedian:0.0}");
        Console.WriteLine(median < 1000 ? "target (< 1 s on one core): met" : "target (< 1 s on one core): MISSED");
        return 0;
    }

    static double Median(List<double> xs) { var s = xs.Order().ToList(); return s[s.Count / 2]; }

    static int Arg(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : fallback;
    }

    static string FindSurvey()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "surveys", "national-tf-2045.yaml");
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException("surveys/national-tf-2045.yaml not found above " + AppContext.BaseDirectory);
    }
}
