using System.Security.Claims;
using Foresight.Server.Features.Surveys;
using Foresight.Server.Plumbing;

namespace Foresight.Server.Features.Questionnaire;

/// <summary>
/// For the national benchmark only (issue 9), mapped when Foresight:Benchmark:SaveLadder is true and never by default:
/// the answer save's request built up step by step, so that the benchmark can say what each part costs against the
/// trivial endpoint. Each step takes the save's request (PUT with the same body and bearer token) and answers with a
/// save's response; only the last is the real endpoint without its storage.
/// </summary>
public static class SaveLadder
{
    public const string Setting = "Foresight:Benchmark:SaveLadder";

    public static void MapSaveLadder(this IEndpointRouteBuilder app)
    {
        // A real save's response, given by the benchmark, so that each step sends back as many bytes.
        byte[] response = [];
        // Under /api, so that authentication answers as it does for the save (401, not a redirect to the sign-in page).
        var ladder = app.MapGroup("/api/ladder").ExcludeFromDescription();
        ladder.MapPut("/response", async (HttpRequest request) =>
        {
            using var copy = new MemoryStream();
            await request.Body.CopyToAsync(copy);
            response = copy.ToArray();
            return TypedResults.NoContent();
        });

        // 1. The request and response bytes: the body read and dropped.
        ladder.MapPut("/body/{survey}/{code}", async (HttpRequest request) =>
        {
            await request.Body.CopyToAsync(Stream.Null);
            return TypedResults.Bytes(response, "application/json");
        });
        // 2. + the JSON body bound to the save's request type.
        ladder.MapPut("/json/{survey}/{code}", (string code, SaveTopicRequest body) => TypedResults.Bytes(response, "application/json"));
        // 3. + the save's authentication, authorization, survey access, body limit, rate limit and request validation.
        var group = ladder.MapGroup("/{survey}").RequireAuthorization(Policies.Expert).RequireSurveyRole(SurveyRole.Expert);
        group.MapPut("/auth/{code}", (SurveyRef survey, string code, SaveTopicRequest body, ClaimsPrincipal user) =>
            TypedResults.Bytes(response, "application/json"))
            .Validate<SaveTopicRequest>().RequireRateLimiting(RateLimits.Answers).WithMetadata(new BodyLimit(64 * 1024));
        // 4. + the save's handler: the open round, the expert's topic, the answers checked against the survey, the
        //    response written; everything but the answer writer.
        group.MapPut("/unstored/{code}", (SurveyRef survey, string code, SaveTopicRequest body, ClaimsPrincipal user, HttpRequest request,
                QuestionnaireService service) =>
                QuestionnaireEndpoints.SaveAsync(survey, code, body, user, request, service, store: false))
            .Validate<SaveTopicRequest>().RequireRateLimiting(RateLimits.Answers).WithMetadata(new BodyLimit(64 * 1024));
    }
}
