using System.Security.Cryptography;
using System.Text;
using Foresight.Core.Consensus;

namespace Foresight.Core.Tests.Consensus;

/// <summary>
/// A closed round's data hash is stated in its reports so that two copies of the data can be compared: the text it
/// hashes (format foresight-round-data/1) must never change, however the hash is computed.
/// </summary>
public class DataHashTests
{
    /// <summary>The format as first written: the whole text, built at once and hashed.</summary>
    static string Whole(int round, int rulesVersion, IEnumerable<string> topics, IEnumerable<AnswerRow> answers)
    {
        var sb = new StringBuilder();
        sb.Append("foresight-round-data/1\n").Append(round).Append('\n').Append(rulesVersion).Append('\n');
        foreach (var t in topics.Order(StringComparer.Ordinal)) sb.Append("topic\t").Append(t).Append('\n');
        foreach (var a in answers.OrderBy(a => a.Topic, StringComparer.Ordinal).ThenBy(a => a.Question, StringComparer.Ordinal)
            .ThenBy(a => a.ExpertId, StringComparer.Ordinal))
            sb.Append(a.ExpertId).Append('\t').Append(a.Topic).Append('\t').Append(a.Question).Append('\t')
              .Append(a.Value.Replace('\t', ' ').Replace('\n', ' ')).Append('\t')
              .Append((a.Rationale ?? "").Replace('\t', ' ').Replace('\n', ' ')).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }

    [Fact]
    public void A_small_round_hashes_its_text()
    {
        AnswerRow[] answers =
        [
            new("E-2", "T1", "q1", "3", null, "a\tb"),
            new("E-1", "T1", "q1", "5", 5),
            new("E-1", "T0", "q2", "x\ny", null, "因为"),
        ];
        const string text = "foresight-round-data/1\n1\n2\ntopic\tT0\ntopic\tT1\n" +
            "E-1\tT0\tq2\tx y\t因为\nE-1\tT1\tq1\t5\t\nE-2\tT1\tq1\t3\ta b\n";
        // sha256sum of the text's UTF-8 bytes (printf '...' | sha256sum).
        Assert.Equal("26aaa91b83721114f5bbe3dbfbfaee6273783de14f07fedb1b3faea951a243c3",
            Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text))));
        Assert.Equal("26aaa91b83721114f5bbe3dbfbfaee6273783de14f07fedb1b3faea951a243c3", RoundConsensus.DataHash(1, 2, ["T1", "T0"], answers));
    }

    static List<AnswerRow> Round(int seed, int members, int topics, int questions, bool unique)
    {
        var random = new Random(seed);
        string[] texts = ["3", "2035", "never", "很重要", "a\tb", "line\nbreak", "😀 emoji", "\ud800 lone surrogate", "", "x\ud83d"];
        var rows = new List<AnswerRow>();
        for (int m = 0; m < members; m++)
            for (int t = 0; t < topics; t++)
                for (int q = 0; q < questions; q++)
                {
                    if (random.Next(4) == 0) continue;
                    var row = new AnswerRow($"E-{m}", $"T{t:00}", $"q{q}", texts[random.Next(texts.Length)], null,
                        random.Next(3) == 0 ? texts[random.Next(texts.Length)] + " 理由" : null);
                    rows.Add(row);
                    // The same key twice (not possible in stored data, but the hash takes any rows): given order kept.
                    if (!unique && random.Next(50) == 0) rows.Add(row with { Value = "again" });
                }
        return rows;
    }

    [Fact]
    public void A_large_round_hashes_as_its_whole_text_in_any_order()
    {
        // About 90,000 answers: several megabytes of text, written in blocks of 8,192 answers over two waves.
        var rows = Round(3, members: 150, topics: 40, questions: 20, unique: true);
        string[] topics = [.. Enumerable.Range(0, 40).Select(t => $"T{t:00}")];
        var hash = RoundConsensus.DataHash(2, 1, topics, rows);
        Assert.Equal(Whole(2, 1, topics, rows), hash);
        var shuffled = rows.ToArray();
        new Random(4).Shuffle(shuffled);
        Assert.Equal(hash, RoundConsensus.DataHash(2, 1, topics.Reverse(), shuffled));
        // And it is about the data: one value changed changes it.
        shuffled[100] = shuffled[100] with { Value = shuffled[100].Value + "!" };
        Assert.NotEqual(hash, RoundConsensus.DataHash(2, 1, topics, shuffled));
    }

    [Fact]
    public void Answers_with_the_same_key_keep_their_given_order()
    {
        var rows = Round(5, members: 20, topics: 10, questions: 10, unique: false);
        Assert.True(rows.Count > rows.Select(r => (r.ExpertId, r.Topic, r.Question)).Distinct().Count());
        Assert.Equal(Whole(1, 1, ["T00"], rows), RoundConsensus.DataHash(1, 1, ["T00"], rows));
    }
}
