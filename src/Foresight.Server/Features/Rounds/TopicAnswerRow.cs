using System.Text;
using System.Text.Json;

namespace Foresight.Server.Features.Rounds;

/// <summary>
/// One expert's answers to one topic as a topic_answers row holds them (migration 0007): a JSON object keyed by
/// question id, ranking ids included, {"question": {"value", "number", "rationale", "revision", "updated_at"}},
/// number and rationale left out when null. Keys are written in ordinal order, as the per-answer table listed them.
/// </summary>
public static class TopicAnswerRow
{
    public sealed record Entry(string Value, double? Number, string? Rationale, long Revision, string UpdatedAt);

    static readonly JsonWriterOptions Options = new()
    {
        // Chinese rationales stay as they are, not \uXXXX escapes at twice the size (as in the history).
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static Dictionary<string, Entry> Parse(string json)
    {
        var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
        Read(Encoding.UTF8.GetBytes(json), (key, entry) => entries[key] = entry);
        return entries;
    }

    /// <summary>Calls <paramref name="entry"/> with each key and answer, in the stored order; <paramref name="intern"/> may share repeated strings.</summary>
    public static void Read(ReadOnlySpan<byte> json, Action<string, Entry> entry, Func<string, string>? intern = null) =>
        Scan(json, true, (key, value, number, rationale, revision, updatedAt) => entry(key, new Entry(value, number, rationale, revision, updatedAt!)), intern);

    /// <summary>Each key with its value, number and rationale only: the read of a whole round, which skips the rest.</summary>
    public static void ReadAnswers(ReadOnlySpan<byte> json, Action<string, string, double?, string?> answer, Func<string, string>? intern = null) =>
        Scan(json, false, (key, value, number, rationale, _, _) => answer(key, value, number, rationale), intern);

    delegate void Fields(string key, string value, double? number, string? rationale, long revision, string? updatedAt);

    /// <param name="times">false to skip updated_at (a string per answer, millions of them in a round)</param>
    static void Scan(ReadOnlySpan<byte> json, bool times, Fields fields, Func<string, string>? intern)
    {
        var r = new Utf8JsonReader(json);
        r.Read(); // {
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            var key = r.GetString()!;
            if (intern is not null) key = intern(key);
            string value = "";
            string? rationale = null, updatedAt = times ? "" : null;
            double? number = null;
            long revision = 0;
            r.Read(); // {
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                var name = r.ValueSpan;
                r.Read();
                if (r.TokenType == JsonTokenType.Null) continue;
                if (name.SequenceEqual("value"u8)) value = intern is null ? r.GetString()! : intern(r.GetString()!);
                else if (name.SequenceEqual("number"u8)) number = r.GetDouble();
                else if (name.SequenceEqual("rationale"u8)) rationale = r.GetString();
                else if (name.SequenceEqual("revision"u8)) revision = r.GetInt64();
                else if (times && name.SequenceEqual("updated_at"u8)) updatedAt = r.GetString()!;
            }
            fields(key, value, number, rationale, revision, updatedAt);
        }
    }

    /// <summary>The JSON of a row, or null when nothing is left (the row is then deleted).</summary>
    public static string? Write(IReadOnlyDictionary<string, Entry> entries)
    {
        if (entries.Count == 0) return null;
        var buffer = new MemoryStream(512);
        using (var j = new Utf8JsonWriter(buffer, Options))
        {
            j.WriteStartObject();
            foreach (var key in entries.Keys.Order(StringComparer.Ordinal))
            {
                var e = entries[key];
                j.WriteStartObject(key);
                j.WriteString("value", e.Value);
                if (e.Number is { } n) j.WriteNumber("number", n);
                if (e.Rationale is { } why) j.WriteString("rationale", why);
                j.WriteNumber("revision", e.Revision);
                j.WriteString("updated_at", e.UpdatedAt);
                j.WriteEndObject();
            }
            j.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
