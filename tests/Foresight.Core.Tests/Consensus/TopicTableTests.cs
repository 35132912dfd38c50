using System.Text.Json;
using System.Text.Json.Serialization;
using Foresight.Core.Answers;
using Foresight.Core.Consensus;
using Foresight.Core.Surveys;

namespace Foresight.Core.Tests.Consensus;

/// <summary>
/// A topic's consensus is computed from a table of its answers (an expert per row, a question per column), made
/// from stored rows or handed over as it is by the kept open round: the result must not depend on how the rows came.
/// </summary>
public class TopicTableTests
{
    static readonly SurveyDefinition Survey = SurveyFile.Parse(File.ReadAllText("surveys/national-tf-2045.yaml")).Survey!;
    static readonly JsonSerializerOptions Json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    static List<AnswerRow> Rows(int seed, string topic, int experts)
    {
        var random = new Random(seed);
        var rows = new List<AnswerRow>();
        for (int e = 0; e < experts; e++)
        {
            var member = $"E{e:000}";
            foreach (var q in Survey.Questions)
            {
                if (random.Next(10) == 0) continue; // some questions left unanswered
                AnswerRow row;
                if (q.Kind == QuestionKind.Year && random.Next(6) == 0)
                    row = new AnswerRow(member, topic, q.Id, random.Next(2) == 0 ? AnswerValue.NeverText : AnswerValue.DontKnowText, null);
                else if (q.Kind == QuestionKind.MultiChoice)
                    row = new AnswerRow(member, topic, q.Id, string.Join(';', q.Options.OrderBy(_ => random.Next()).Take(1 + random.Next(2))
                        .Select(o => o.Code)), null);
                else if (q.Options.Count > 0)
                {
                    var o = q.Options[random.Next(q.Options.Count)];
                    row = new AnswerRow(member, topic, q.Id, o.Code, o.Value);
                }
                else row = new AnswerRow(member, topic, q.Id, $"text {e}", null);
                rows.Add(row);
            }
        }
        // A ranking row and an expert who only ranked: neither is an answer to a question of the survey.
        rows.Add(new AnswerRow("E000", topic, "priority", "2", 2));
        rows.Add(new AnswerRow("R999", topic, "priority", "1", 1));
        return rows;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void The_result_does_not_depend_on_the_order_of_the_rows_and_counts_what_the_rows_say(int seed)
    {
        var topic = new RoundTopic("T1", "F1", "T1");
        var rows = Rows(seed, "T1", 40);
        var previous = Rows(seed + 100, "T1", 35);
        var shuffled = rows.OrderBy(_ => Random.Shared.Next()).ToList();
        var previousShuffled = previous.OrderBy(_ => Random.Shared.Next()).ToList();
        var a = RoundConsensus.ComputeTopic(Survey, Survey.Consensus, 2, topic, rows, previous);
        var b = RoundConsensus.ComputeTopic(Survey, Survey.Consensus, 2, topic, shuffled, previousShuffled);
        Assert.Equal(JsonSerializer.Serialize(a, Json), JsonSerializer.Serialize(b, Json));

        var own = rows.Where(r => Survey.Question(r.Question) is not null).ToList();
        Assert.Equal(own.Select(r => r.ExpertId).Distinct().Count(), a.Respondents);
        Assert.Equal(own.Count(r => r.Question == "familiarity" && Survey.Familiarity!.OptionByCode(r.Value) is { SkipsTopic: true }), a.NotFamiliar);
        foreach (var q in Survey.Questions.Where(q => q.AskedIn(2)))
        {
            var result = a.Question(q.Id)!;
            var answered = own.Where(r => r.Question == q.Id).ToList();
            Assert.Equal(answered.Count, result.Answered);
            foreach (var count in result.Counts)
                Assert.Equal(answered.Count(r => r.Value.Split(';').Contains(count.Code)), count.Count);
            if (q.Kind == QuestionKind.Year)
                Assert.Equal(answered.Count(r => r.Value == AnswerValue.NeverText), result.Summary!.NNever);
        }
        Assert.Contains(a.Questions, q => q.Stability is { NPairs: > 0 });
    }

    [Fact]
    public void A_table_handed_over_gives_the_result_of_the_same_answers_as_rows()
    {
        var topic = new RoundTopic("T1", "F1", null);
        var rows = Rows(7, "T1", 30);
        var table = TopicTable.FromRows(Survey, rows);
        Assert.Equal(30, table.Count); // the expert who only ranked is not a row
        // The same cells in another order of experts, as the kept round would hand them over.
        var order = Enumerable.Range(0, table.Count).Reverse().ToList();
        var reordered = new TopicTable(order.Select(i => table.Members[i]).ToList(), order.Select(i => table.Values[i]).ToList(),
            order.Select(i => table.Numbers[i]).ToList());
        Assert.Equal(JsonSerializer.Serialize(RoundConsensus.ComputeTopic(Survey, Survey.Consensus, 1, topic, rows, null), Json),
            JsonSerializer.Serialize(RoundConsensus.ComputeTopic(Survey, Survey.Consensus, 1, topic, reordered, null), Json));
    }

    [Fact]
    public void Option_counts_are_the_same_whether_the_experts_share_one_string_or_not()
    {
        // The kept round hands over one string per distinct value, rows from the store bring a string each: counts
        // recognise a repeated string by reference, so both, mixed with multiple codes and unknown ones, must agree.
        int qi = Enumerable.Range(0, Survey.Questions.Count).First(i => Survey.Questions[i].Kind == QuestionKind.MultiChoice);
        var q = Survey.Questions[qi];
        string a = q.Options[0].Code, b = q.Options[1].Code;
        string[] cells = [a, a, new string(a.AsSpan()), a + ";" + b, b + ";" + a, a + ";", "no-such-code", b, b, a, new string(b.AsSpan()), a];
        var members = cells.Select((_, i) => $"E{i:00}").ToArray();
        var values = cells.Select(c => { var row = new string?[Survey.Questions.Count]; row[qi] = c; return row; }).ToArray();
        var numbers = cells.Select(_ => Enumerable.Repeat(double.NaN, Survey.Questions.Count).ToArray()).ToArray();
        var result = RoundConsensus.ComputeTopic(Survey, Survey.Consensus, 1, new RoundTopic("T1", "F1", null), new TopicTable(members, values, numbers), null);
        var counts = result.Question(q.Id)!.Counts.ToDictionary(c => c.Code, c => c.Count);
        Assert.Equal(cells.Count(c => c.Split(';').Contains(a)), counts[a]);
        Assert.Equal(cells.Count(c => c.Split(';').Contains(b)), counts[b]);
        Assert.Equal(8, counts[a]);
        Assert.Equal(5, counts[b]);
        Assert.All(q.Options.Skip(2), o => Assert.Equal(0, counts[o.Code]));
    }
}
