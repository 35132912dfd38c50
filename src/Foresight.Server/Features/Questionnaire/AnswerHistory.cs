using System.Text;
using System.Text.Json;

namespace Foresight.Server.Features.Questionnaire;

/// <summary>
/// The answer history's record of one save: a JSON object of the questions it changed,
/// {"question": {"value": "...", "number": n, "rationale": "..."}}, a null value for a cleared answer.
/// Read back in SQL with json_each (see <see cref="QuestionnaireService.HistoryAsync"/>).
/// </summary>
public static class AnswerHistory
{
    public sealed class Writer
    {
        internal readonly MemoryStream Buffer = new(256);
        internal readonly Utf8JsonWriter Json;
        // Text stays as it is (Chinese rationales are not turned into \uXXXX escapes at twice the size): the JSON is
        // read back by SQLite's JSON functions, never placed into a page as it stands.
        internal Writer() { Json = new Utf8JsonWriter(Buffer,
            new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }); Json.WriteStartObject(); }
    }

    public static Writer Start() => new();

    public static void Add(Writer w, string question, string? value, double? number, string? rationale)
    {
        var j = w.Json;
        j.WriteStartObject(question);
        if (value is null) j.WriteNull("value"); else j.WriteString("value", value);
        if (number is { } n) j.WriteNumber("number", n); else j.WriteNull("number");
        if (rationale is null) j.WriteNull("rationale"); else j.WriteString("rationale", rationale);
        j.WriteEndObject();
    }

    public static string Finish(Writer w)
    {
        w.Json.WriteEndObject();
        w.Json.Flush();
        return Encoding.UTF8.GetString(w.Buffer.GetBuffer(), 0, (int)w.Buffer.Length);
    }

    /// <summary>The record of one changed question, for callers that write one.</summary>
    public static string Of(string question, string? value, double? number, string? rationale = null)
    {
        var w = Start();
        Add(w, question, value, number, rationale);
        return Finish(w);
    }
}
