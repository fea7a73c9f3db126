"""Each stage of the answerer alone: reading a question, what the corpus knows, the judge, composing."""

from __future__ import annotations

import pytest

from assistant.answering import compose
from assistant.answering.checker import pairs
from assistant.answering.gather import AGENDA_LINE, Evidence, asked, has_type, header_lines
from assistant.answering.judge import FEATURE_NAMES, Judge, by_subject, features, passage_meaning, spoken
from assistant.answering.knowledge import Knowledge, close_spelling, demonym_state, state_represented, states_in
from assistant.answering.read import Part, is_follow_up, read
from assistant.passages import Passage
from assistant.retrieval import Hit
from assistant.settings import PROJECT_ROOT
from assistant.text import stems


@pytest.fixture(scope="module")
def knowledge(assistant):
    return assistant.answerer.knowledge


# ---- read ----


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who chaired the 590th meeting?", "person"),
        ("When did the 608th meeting end?", "time"),
        ("When did the public part of the 232nd meeting end?", "time"),  # the event may take several words to name
        ("On what date was the record issued?", "date"),
        ("How many States parties does the Convention have?", "number"),
        ("What proportion of migrants are migrant workers?", "share"),
        ("What minimum monthly wage does the Committee recommend?", "amount"),
        ("How much is the fine for withholding a passport?", "amount"),
        ("What funding mechanism is being rolled out?", "text"),  # the noun asked about is the mechanism
        ("What maximum number of days may a migrant be detained?", "number"),
        ("Which age-assessment methods should States avoid?", "text"),  # 'age' in a compound asks no age
        ("Which general comment deals with detention?", "document"),
        ("Which articles of the Convention match objective 6?", "article"),
        ("Which countries spoke at the meeting?", "state"),
        ("In which city was the meeting held?", "place"),
        ("Where is the definition of trafficking set out?", "document"),  # a text sets it out, not a city
        ("What did Mr. Flynn say about alternatives to detention?", "text"),
        ("What does general comment No. 1 propose about redress?", "text"),  # an auxiliary, not 'which document'
        ("What did speakers say about pushbacks?", "text"),
        ("Why do so few States ratify the Convention?", "reason"),
        ("On what grounds did the Committee postpone the dialogue?", "reason"),
        ("Which States ratified the Convention, and why?", "state"),  # the whole question asks for States first
        ("What is the name of the Chief of the ILO branch?", "person"),  # a name, as 'who' asks for
        ("How large, in dollars, was the shortfall?", "amount"),  # the unit asked in says what is measured
        ("What maximum length of detention, in days, does it set?", "number"),
        ("What's the name of the Chair?", "person"),  # a lay contraction asks what 'What is' asks
        ("What is the minimum age for employment?", "number"),  # the noun asked about after 'is the'
        ("By what vote was it adopted?", "number"),  # a vote is a count
        ("What's the average monthly pay of domestic workers?", "amount"),
        ("On which exact day was the meeting held?", "date"),  # a word between 'which' and the noun
        ("What counts as forced labour?", "text"),  # a verb, not the noun 'count'
    ],
)
def test_the_answer_type_is_read_from_the_question(knowledge, question, kind):
    assert read(question, knowledge).parts[0].answer_type == kind


def test_a_reason_is_evidenced_by_a_causal_connective_not_by_any_word():
    assert has_type("The dialogue was postponed because the delegation could not travel.", "reason")
    assert has_type("It was adopted in order to promote ratification.", "reason")
    assert has_type("The delay resulted from the lack of resources.", "reason")
    assert not has_type("The dialogue was postponed to the next session.", "reason")
    assert not has_type("Since 2019, 12 States have ratified it.", "reason")  # 'since' is as often of time
    assert has_type("The seminar was held in Rabat.", "place")
    assert has_type("It adopted the two general comments (No. 38/7 and No. 39/8).", "document")  # plurals too
    assert not has_type("At its thirtieth session in April 2019, it set up a working group.", "place")  # a time


def test_a_count_is_evidenced_by_a_number_of_what_is_counted_not_by_any_number(knowledge):
    def counted(question: str) -> frozenset[str]:
        return frozenset(stems(read(question, knowledge).parts[0].counted))

    part = read("How many countries have ratified the Convention?", knowledge).parts[0]
    assert part.answer_type == "number" and "States" in part.counted.title()  # a State by any of its names
    countries = counted("How many countries have ratified the Convention?")
    assert has_type("The Convention now has 60 States parties.", "number", countries)
    assert not has_type("On 21 February the Convention was ratified by Chad.", "number", countries)
    days = read("What is the maximum number of days a migrant may be detained?", knowledge).parts[0]
    assert days.answer_type == "number" and days.counted.startswith("days")
    share = counted("Roughly how many of the world's migrants are migrant workers?")
    assert has_type("Workers constitute around 169 million of the total global migrant population.", "number", share)
    assert has_type("It met 3 times.", "number")  # with nothing counted, any number
    assert counted("How many migrants disappeared in 2022?") == frozenset(stems("migrants"))  # not the verb
    assert read("What maximum length of detention, in days, does it set?", knowledge).parts[0].counted == "days"
    nations = counted("How many nations voted for it?")
    assert not has_type("At its session in April 2019, the United Nations Committee met.", "number", nations)
    assert has_type("It was adopted by 152 nations, with 5 against.", "number", nations)  # one clause each


def test_a_date_is_as_precise_as_the_question_asks(knowledge):
    def grain(question: str) -> str:
        return read(question, knowledge).parts[0].grain

    assert (grain("On what date did it open?"), grain("In what year?"), grain("When did it open?")) == (
        "day",
        "year",
        "",
    )
    assert not has_type("The sessions were to be held in December 2025.", "date", grain="day")
    percentage = read("What percentage of victims are women?", knowledge).parts[0]
    assert percentage.answer_type == "share" and percentage.grain == "figure"  # a figure, where 'what share' is not
    assert read("What share of victims are women?", knowledge).parts[0].grain == ""
    assert not has_type("Women comprise the majority of victims.", "share", grain="figure")
    assert has_type("Some 10 to 15 per cent of migrants are undocumented.", "share", grain="figure")
    assert has_type("The sessions open on 1 December 2025.", "date", grain="day")
    assert has_type("The sessions were to be held in December 2025.", "date", grain="year")


def test_what_the_question_gives_is_no_answer_to_it(knowledge):
    def given(question: str) -> str:
        return asked(read(question, knowledge).question)

    when = given("On what date in December 2025 were the joint general comments adopted?")
    assert not has_type("They were to be adopted in December 2025.", "date", given=when)
    assert has_type("They were adopted on 3 December 2025.", "date", given=when)
    who = given("Who took over from Ms. Diallo as Chair?")
    assert not has_type("Ms. Diallo thanked the members.", "person", given=who)
    assert has_type("Ms. Diallo handed over to Mr. Corzo Sosa.", "person", given=who)
    tasked = given("Who did the General Assembly task with drawing up indicators?")
    assert not has_type("The General Assembly had asked for indicators.", "person", given=tasked, bodies=True)
    assert has_type("The Assembly had tasked the Secretary-General with it.", "person", given=tasked, bodies=True)


def test_a_question_of_several_parts_is_read_part_by_part(knowledge):
    reading = read("Who chaired the 590th meeting, and where was it held?", knowledge)
    assert [p.text for p in reading.parts] == ["Who chaired the 590th meeting", "where was it held"]
    assert [p.answer_type for p in reading.parts] == ["person", "place"]
    assert reading.documents == ["CMW-C-SR.590"]
    assert reading.parts[0].scored_text == "Who chaired the"  # the record is a filter, not words to match
    asked = read("Can I send input in any language, and will the UN translate it?", knowledge)
    assert [p.text for p in asked.parts] == ["Can I send input in any language", "will the UN translate it"]
    # 'in which' breaks as 'in what' does
    where = read("Who chaired the 232nd meeting and in which building was it held?", knowledge)
    assert [p.answer_type for p in where.parts] == ["person", "place"]
    # a clause that sets the scene asks nothing: the question after its comma does
    scene = read("When a child crosses a border, should officials see a migrant or a child?", knowledge)
    assert [p.answer_type for p in scene.parts] == ["text"]
    assert read("If I am detained, how long can they keep me?", knowledge).parts[0].answer_type == "number"
    # a question opened by any preposition after 'and' is a part of its own: 'and of what date'
    cited = read("Which resolution does the note cite, and of what date is it?", knowledge)
    assert [p.answer_type for p in cited.parts] == ["document", "date"]
    # a time is asked by the verb that ends the clause, not by the same word as an adjective
    assert read("When did the 590th meeting open?", knowledge).parts[0].answer_type == "time"
    assert read("When did the committee hold its open discussion day?", knowledge).parts[0].answer_type == "date"
    # two question words of one clause ask two things of it
    both = read("When and where was the 232nd meeting held, and who chaired it?", knowledge)
    assert [p.text for p in both.parts] == [
        "When was the 232nd meeting held",
        "where was the 232nd meeting held",
        "who chaired it",
    ]
    assert [p.answer_type for p in both.parts] == ["date", "place", "person"]


def test_records_are_named_by_meeting_session_or_symbol_and_unheld_ones_are_kept(knowledge):
    assert read("What happened at the thirty-ninth session?", knowledge).documents[0] == "CMW-C-SR.590"
    assert read("What does CMW/C/SR.232 say about Morocco?", knowledge).documents == ["CMW-C-SR.232"]
    reading = read("Who chaired the 999th meeting?", knowledge)
    assert reading.documents == [] and reading.unheld == ["meeting 999"]
    # a series of sessions names each one
    for series in ("thirty-ninth and fortieth sessions", "39th, 40th sessions"):
        assert read(f"What did the Chair say at the {series}?", knowledge).documents == ["CMW-C-SR.590", "CMW-C-SR.608"]
    assert read("What about human rights and the last session?", knowledge).documents == []
    # and by the date of its meeting, to the month at least; a record dated to the month is of any day in it
    assert read("Who chaired the meetings in December 2024 and April 2025?", knowledge).documents == [
        "CMW-C-SR.590",
        "CMW-C-SR.608",
    ]
    assert read("What was said at the September 2022 Geneva discussion?", knowledge).documents == ["CMW-C-SR.506"]
    assert read("Who spoke at the meeting of 27 September 2013?", knowledge).documents == ["CMW-C-SR.232"]
    for undated in ("Where did the working group hold its meeting in 2022?", "Who spoke at the meeting on 3 May 2019?"):
        assert read(undated, knowledge).documents == []


def passage(doc_id: str, title: str, text: str, session: str | None = None) -> Passage:
    return Passage(doc_id, doc_id, title, "1", 1, False, "paragraph", text, "x.txt", 1, 0, session=session)


def test_a_joint_comment_is_named_by_both_its_numbers_and_a_session_by_its_own_body():
    knowledge = Knowledge.collect(
        [
            passage(
                "CMW-C-GC-4-CRC-C-GC-23",
                "Joint general comment No. 4 (2017) of the CMW and No. 23 (2017) of the CRC",
                "Children.",
            ),
            passage("CAT-C-GC-4", "General comment No. 4 (2017) on article 3", "Adopted at its nineteenth session."),
            passage("CMW-C-GC-2", "General comment No. 2 on irregular migrants", "Migrants."),
            passage(
                "CMW-C-SR.232", "Summary record of the 232nd meeting", "Ratification.", session="Nineteenth session"
            ),
        ]
    )
    for joint in ("joint general comment No. 4/No. 23", "general comment No. 4/23", "joint general comment No. 4"):
        assert read(f"What does {joint} say?", knowledge).instruments == ["CMW-C-GC-4-CRC-C-GC-23"]
    assert read("What does general comment No. 4 say?", knowledge).instruments == [
        "CMW-C-GC-4-CRC-C-GC-23",
        "CAT-C-GC-4",
    ]
    assert read("Do general comments No. 2 and No. 4 agree?", knowledge).instruments == [
        "CMW-C-GC-2",
        "CMW-C-GC-4-CRC-C-GC-23",
        "CAT-C-GC-4",
    ]
    # the CMW's nineteenth session is its record's; the CAT comment mentions the CAT's own
    assert read("What was said at the nineteenth session?", knowledge).documents == ["CMW-C-SR.232"]


def test_a_general_comment_the_corpus_is_not_is_unheld_though_its_records_mention_it(knowledge):
    # the concept note is draft general comment No. 6 of the CMW; no document here is No. 7, or the CRC's No. 6
    assert read("What does general comment No. 6 say about regular pathways?", knowledge).unheld == []
    assert read("What does CMW general comment No. 7 say about climate?", knowledge).unheld == [
        "CMW general comment No. 7"
    ]
    assert read("What does CRC general comment No. 6 say about guardians?", knowledge).unheld == [
        "CRC general comment No. 6"
    ]
    # one held instrument is enough: the question may cite another on the way
    assert read("Citing general comment No. 14, what does general comment No. 6 say?", knowledge).unheld == []


def test_a_held_general_comment_a_question_names_is_preferred_to_the_texts_citing_it(assistant, knowledge):
    assert read("What does general comment No. 6 say about regular pathways?", knowledge).instruments == [
        "CMW-GC6-concept-note"
    ]
    assert read("What does CMW general comment No. 7 say about climate?", knowledge).instruments == []
    draft = assistant.answerer.draft("What does general comment No. 6 say about regular pathways?")
    own = [e for e in draft.evidence[0] if e.own_instrument]
    assert own and {e.passage.doc_id for e in own} == {"CMW-GC6-concept-note"}
    assert all(not e.own_instrument for e in draft.evidence[0] if e.passage.doc_id != "CMW-GC6-concept-note")


def test_states_people_and_names_are_found_however_the_question_spells_them(knowledge):
    reading = read("What did the Mexican representative say about Mr. Flin's remarks on the Olympic games?", knowledge)
    assert reading.states == ["Mexico"]
    assert reading.persons == ["Flin"]
    assert "Olympic" in reading.names
    assert any(s.name == "Mr. Flynn" for s in reading.speakers)  # a misspelt name still finds its speaker


def test_the_summary_record_of_a_meeting_names_the_record_and_is_no_focus(knowledge):
    issued = read("When was the summary record of the 506th meeting issued?", knowledge).parts[0]
    assert "record" not in issued.focus and "issued" in issued.focus
    second = read("When did the 608th meeting end, and when was its summary record issued?", knowledge).parts[1]
    assert "record" not in second.focus and "issued" in second.focus
    missing = read("Which meetings of the fortieth session have no summary records?", knowledge).parts[0]
    assert "records" in missing.focus  # asked about, not a name of the record


def test_a_demonym_names_the_states_speakers_and_is_searched_as_the_state(knowledge):
    question = "What did the Mexican delegate say about the two instruments?"
    assert any(s.affiliation == "Mexico" for s in knowledge.speakers_named(question))
    assert "Mexico" in read(question, knowledge).expansions
    assert "Mexico" not in read("What did Mexico say?", knowledge).expansions  # named already


def test_a_question_naming_someone_who_speaks_has_a_subject(knowledge):
    assert read("What did the delegation of Jamaica say?", knowledge).subject == "the delegation of Jamaica"
    assert read("What did the Committee decide?", knowledge).subject is None
    assert read("What did the chairman say about the Compact?", knowledge).subject is None  # the Chair: no one else


def test_a_follow_up_points_back_or_names_nothing_of_its_own(knowledge):
    assert is_follow_up(read("And what did she say about children?", knowledge))
    assert is_follow_up(read("Which country was the latest to join?", knowledge))
    assert not is_follow_up(read("What did Mexico say about family reunification?", knowledge))


# ---- knowledge ----


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("Mexican", "Mexico"),
        ("Greek", "Greece"),
        ("Irish", "Ireland"),
        ("Azerbaijani", "Azerbaijan"),
        ("Tunisian", "Tunisia"),
    ],
)
def test_demonyms_name_their_state(word, state):
    assert demonym_state(word) == state


def test_no_state_hides_in_ordinary_words():
    assert demonym_state("International") is None and demonym_state("Central") is None
    assert demonym_state("African") is None  # a word of longer State names, none alone
    for organization in ("Amsterdam Centre for Migration", "Anti-racist Group (GADEM)", "Global Migration Policy"):
        assert states_in(organization) == []
    assert demonym_state("Nigerian") == "Nigeria" and demonym_state("Sudanese") == "Sudan"  # the longest start wins
    assert states_in("the United States of America and Viet Nam") == ["United States", "Viet Nam"]


def test_a_contraction_or_a_hedge_is_no_word_the_corpus_never_uses(knowledge):
    from assistant.text import words

    assert words("they're, don't, can't, won't") == ["they", "do", "not", "can", "not", "will", "not"]
    assert words("Côte d'Ivoire and the Committee's O'Neill") == [
        "Côte",
        "d'Ivoire",
        "and",
        "the",
        "Committee's",
        "O'Neill",
    ]
    assert knowledge.unknown_share("Were they're in Geneva?") == knowledge.unknown_share("Were they in Geneva?")
    # a hedge asks, it names nothing: 'Roughly how many ...?' is no rarer a question than 'How many ...?'
    assert knowledge.unknown_share("Roughly how many States?") == knowledge.unknown_share("How many States?")


def test_a_state_the_records_never_name_is_unknown_by_its_name_or_demonym(knowledge):
    assert knowledge.unknown_share("What did the Mexican delegation say?") == 0.0  # Mexico spoke
    assert knowledge.unknown_share("What about Libya?") == knowledge.unknown_share("What about Libyans?") == 1.0


def test_a_delegation_speaks_for_its_state_an_organization_naming_one_does_not():
    assert (
        state_represented("Mexico") == "Mexico"
        and state_represented("Permanent Mission of Burkina Faso") == "Burkina Faso"
    )
    assert state_represented("the Moroccan Government delegation") == "Morocco"
    assert state_represented("Association of Moroccan victims of arbitrary expulsion from Algeria (AMVEAA)") is None
    assert state_represented("National Human Rights Council of Morocco (CNDH)") is None


def test_spelling_variants_of_a_name_meet():
    assert close_spelling("Flin", "Flynn") and close_spelling("Mendez", "Méndez")
    assert not close_spelling("Flynn", "Salama")


def test_header_lines_answer_to_the_words_users_ask_with():
    lines = ["Chair: Ms. Diallo", "The meeting rose at 6 p.m.", "Original: English"]
    chair, rose, original = (line.words for line in header_lines(lines))
    assert "chair" in chair and "finish" in rose and "languag" in original


def test_an_irregular_verbs_past_forms_meet_its_base():
    from assistant.text import stems

    assert stems("took taken held began") == stems("take take hold begin")
    assert stems("lay laid") == ["lay", "lay"] and stems("regularization") == ["regulariz"]


def test_every_line_of_a_records_contents_is_an_agenda_item():
    lines = [
        "Thirty-ninth session",
        "Contents",
        "Organizational matters",
        "Closure of the session",
        "The meeting rose at 6 p.m.",
    ]
    kinds = [line.kind for line in header_lines(lines)]
    assert kinds[2] == kinds[3] == AGENDA_LINE  # 'Closure of the session' is an item, not the session's name
    assert AGENDA_LINE not in (kinds[0], kinds[4])


# ---- checker ----


def test_a_checker_that_never_saw_the_main_set_ranks_its_answerable_questions_first(assistant):
    """The fold checker fitted without questions.jsonl, on the main set's questions as the answerer drafts them: a
    question's logit is its best part's, as the judge's decision is."""
    import numpy as np

    from assistant.answering.checker import Checker, fold_of
    from assistant.evaluation import load_questions

    checker = Checker.load(fold_of("questions"))
    logits, answerable = [], []
    for question in load_questions(PROJECT_ROOT / "eval" / "questions.jsonl"):
        draft = assistant.answerer.draft(question.question)
        if question.history or not draft.evidence:
            continue
        logits.append(max(checker.logits(pairs(draft.resolved, draft.evidence))))
        answerable.append(question.answerable)
    logits, answerable = np.array(logits), np.array(answerable)
    auc = np.mean([[p > n for n in logits[~answerable]] for p in logits[answerable]])
    assert auc >= 0.8, auc  # 0.887 when fitted


def test_the_checker_stores_only_what_was_fitted_and_its_export_averages_the_fold_models(tmp_path):
    import torch
    from safetensors.torch import save_file

    from assistant.answering.checker import (
        MODEL_DIR,
        Checker,
        base_model,
        encode,
        fitted_names,
        fitted_weights,
        fold_of,
        folds,
        stored,
    )

    base, tokenizer = base_model()
    bundled = {k: v.clone() for k, v in base.state_dict().items()}
    assert not any("embeddings" in name or "layer.0." in name for name in fitted_names(base))
    # a padded batch: the exported graph runs the frozen layers once and each fold's top on them, as its model would
    batch = [
        ("Who chaired the 590th meeting?", "Chair: Ms. Diallo"),
        ("What did the Chair say?", ""),
        ("q", "s " * 200),
    ]
    each = []
    for name in folds():
        fitted = fitted_weights(MODEL_DIR / f"{name}.safetensors", bundled)
        assert set(fitted) == set(fitted_names(base))  # the frozen layers come from the bundled model
        base.load_state_dict(fitted, strict=False)
        with torch.inference_mode():
            each.append(base(**encode(tokenizer, batch)).logits.squeeze(-1))
        assert Checker.load([name]).logits(batch) == pytest.approx(each[-1].tolist(), abs=1e-3)
    assert Checker.load().logits(batch) == pytest.approx(torch.stack(each).mean(0).tolist(), abs=1e-3)
    # stored as changes from the bundled weights, a fold's matrices come back within int8's step of each row's change
    saved = tmp_path / "fold.safetensors"
    save_file(stored(fitted, bundled), str(saved))
    again = fitted_weights(saved, bundled)
    for k, weight in fitted.items():
        step = (weight - bundled[k]).abs().amax(dim=-1, keepdim=True) / 127 if k in bundled and weight.dim() == 2 else 0
        assert torch.all((again[k] - weight).abs() <= step + 2e-3 * weight.abs() + 1e-6), k
    assert fold_of("questions") in [[name] for name in folds()] and fold_of("a set no fit saw") is None
    assert Checker.off().logits([("q", "s")]) == [0.0]


# ---- judge ----


def test_the_judge_file_matches_the_features_and_gives_probabilities(assistant):
    judge = Judge.load()
    assert len(judge.coefficients) == len(FEATURE_NAMES)
    draft = assistant.answerer.draft("How many States parties does the Convention have?")
    for f in draft.features:
        assert set(vars(f)) == set(FEATURE_NAMES)
    assert all(0.0 <= p <= 1.0 for p in draft.probabilities)
    assert Judge.neutral().probability(draft.features[0]) == pytest.approx(0.5)


def test_a_name_the_corpus_lacks_weighs_against_an_answer_but_does_not_refuse_it_alone(assistant):
    answerer = assistant.answerer
    draft = answerer.draft("What did the Mexican representative say about family reunification?")
    assert draft.features[0].unknown == 0.0  # 'Mexican' is Mexico's: not an unknown word
    assert not answerer.compose(draft).abstained


@pytest.mark.parametrize(
    ("question", "spoke"),
    [
        ("What did the IOM representative say about how the Compact and the Convention relate?", 1.0),  # acronym
        ("What did speakers say about migrants who die or go missing?", 1.0),  # names no one in particular
        ("What did the Government of Tunisia's representative say about the Global Compact at the 506th meeting?", 0.0),
    ],
)
def test_who_the_question_says_spoke_is_looked_for_among_the_speakers(assistant, question, spoke):
    assert assistant.answerer.draft(question).features[0].subject_spoke == spoke


def test_what_someone_said_about_a_topic_is_read_in_their_own_sentences(assistant):
    # Mr. Ben Khalifa spoke of Tunisia and the EU's border pressure, never of Algeria's asylum laws
    spoke_of_it = assistant.answerer.draft("What did Mr. Ben Khalifa say about pressure from the European Union?")
    other_topic = assistant.answerer.draft("What did Mr. Ben Khalifa say about Algeria's failure to adopt asylum laws?")
    assert spoke_of_it.features[0].subject_spoke == other_topic.features[0].subject_spoke == 1.0
    assert spoke_of_it.features[0].subject_words > 0.5 > other_topic.features[0].subject_words
    assert spoke_of_it.features[0].subject_named == 1.0 > other_topic.features[0].subject_named  # Algeria


def test_a_document_without_speakers_speaks_in_its_own_name(corpus, knowledge):
    passage = corpus.passage("CMW-GC6-concept-note", "sect. 5, para. 2")
    top = [evidence_of(passage, passage.text[:40])]
    by_title = read("According to the committee's call for submissions, how long may a submission be?", knowledge)
    by_state = read("According to the Government of Tunisia, how long may a submission be?", knowledge)
    assert by_title.subject and by_state.subject
    assert spoken(by_subject(by_title, top, knowledge)) == 1.0
    assert spoken(by_subject(by_state, top, knowledge)) == 0.0


def test_a_rare_word_the_passages_lack_marks_a_near_miss_but_the_kind_of_answer_is_not_lacking(assistant):
    draft = assistant.answerer.draft
    answered = draft(
        "At its twenty-third session, what did the Human Rights Council adopt on the human rights of migrants?"
    )
    detail = draft("What was the preamble of Human Rights Council resolution 23/20 on the human rights of migrants?")
    assert answered.features[0].near_miss == 0.0 and detail.features[0].near_miss > 0.3  # no record quotes it
    building = draft("In which Geneva building did the 608th meeting take place?")
    assert building.reading.parts[0].slot == "In which Geneva building"  # the answer names it: 'the Palais Wilson'
    assert building.features[0].missing_rare == 0.0


def test_features_read_the_evidence_not_the_question_text(assistant):
    answerer = assistant.answerer
    draft = answerer.draft("Who chaired the 590th meeting?")
    checked = answerer.checker.logits(pairs(draft.resolved, draft.evidence))[0]
    same = features(draft.reading, 0, draft.evidence[0], draft.hits, answerer.knowledge, answerer.gatherer, checked)
    assert same == draft.features[0]
    empty = features(draft.reading, 0, [], [], answerer.knowledge, answerer.gatherer)
    assert empty.score == 0.0 and empty.type_found == 0.0


def test_a_header_line_is_judged_by_its_own_meaning_not_its_whole_header(corpus):
    header = corpus.passage("CMW/C/SR.608", "header")
    line = next(line for line in header.text.splitlines() if line.startswith("Held at"))
    held_at = evidence_of(header, line)
    held_at.cosine, held_at.passage_cosine, held_at.header_line = 0.6, 0.3, 1
    assert passage_meaning(held_at) == 0.6
    held_at.header_line = 0  # any other sentence is read with its passage
    assert passage_meaning(held_at) == 0.3


# ---- compose ----


def evidence_of(passage, text: str) -> Evidence:
    start = passage.text.index(text)
    hit = Hit(passage, 1.0, 1, 1, 1, 0.5, 1.0)
    return Evidence(hit, 0, 0, (start, start + len(text)), 0.5, 0.5, 0.5, 0.5, False, 1.0, True, score=0.9)


def test_a_count_is_taken_next_to_what_is_counted(assistant, corpus, knowledge):
    passage = corpus.passage("CMW/C/SR.608", "2")
    sentence = passage.text[: passage.text.index(".") + 1]
    quote = compose.Quote([evidence_of(passage, sentence)])
    part = read("How many States parties does the Convention have?", knowledge).parts[0]
    assert compose.typed_span(part, quote, knowledge).startswith("60 States")  # not '21 February', a date


def sentences_of(passage, score: float) -> dict[int, Evidence]:
    from assistant.sentences import sentence_spans

    found = {}
    for i, span in enumerate(sentence_spans(passage.text)):
        found[i] = evidence_of(passage, passage.text[span[0] : span[1]])
        found[i].index, found[i].score = i, score
    return found


def test_a_quote_runs_on_to_a_sentence_further_in_its_paragraph_that_answers_nearly_as_well(corpus):
    passage = corpus.passage("CMW/C/SR.506", "16")
    part = Part("which matters", "matters", "text", wants_list=True)
    for second, runs_on in ((0.95, True), (0.6, False)):
        sentences = sentences_of(passage, 0.5)
        sentences[0].score, sentences[3].score = 1.0, second  # the lead, and a sentence two further on
        evidence = sorted(sentences.values(), key=lambda e: -e.score)
        quotes = compose.choose_quotes(evidence, part, False)
        assert len(quotes) == 1 and quotes[0].text in passage.text  # one verbatim span, what lies between included
        assert (sentences[3].text in quotes[0].text) is runs_on


def test_several_sources_are_one_passage_per_speaker_unless_the_question_names_the_speaker(corpus):
    first, second = corpus.passage("CMW/C/SR.506", "12"), corpus.passage("CMW/C/SR.506", "13")
    assert first.speaker == second.speaker  # Mr. Ben Khalifa speaks on in paragraph 13
    part = Part("what did he say, and what was refused", "say refused", "text")
    for named in (False, True):
        evidence = [evidence_of(p, p.text[: p.text.index(".") + 1]) for p in (first, second)]
        for e in evidence:
            e.by_speaker = named
        quotes = compose.choose_quotes(evidence, part, many=True)
        assert [q.passage.paragraph for q in quotes] == (["12", "13"] if named else ["12"])


def test_the_retrievers_first_passage_is_quoted_unless_its_sentences_score_far_below(corpus):
    lead, first = corpus.passage("CMW/C/SR.506", "12"), corpus.passage("CMW/C/SR.506", "20")
    part = Part("is it allowed", "allowed", "text")
    for score, quoted in ((0.6, True), (0.4, False)):  # against a best sentence of 1.0 and KEEP_RATIO 0.85
        best, other = (evidence_of(p, p.text[: p.text.index(".") + 1]) for p in (lead, first))
        best.hit.rank, best.score, other.score = 2, 1.0, score  # gather put the first passage's sentence lower
        quotes = compose.choose_quotes([best, other], part, False)
        assert ("20" in [q.passage.paragraph for q in quotes]) is quoted


def test_an_agenda_item_brings_the_whole_agenda(assistant):
    answer = assistant.ask("What items were on the agenda of the 590th meeting?")
    assert "Organizational matters" in answer.answer and "Closure of the session" in answer.answer


def test_records_answering_equally_well_are_shown_latest_first(corpus):
    older, newer = corpus.passage("CMW/C/SR.590", "header"), corpus.passage("CMW/C/SR.608", "header")
    quotes = [compose.Quote([evidence_of(p, "Chair: Ms. Diallo")]) for p in (older, newer)]
    assert [q.passage.document for q in compose.latest_first(quotes)] == ["CMW/C/SR.608", "CMW/C/SR.590"]


def test_the_footnotes_the_top_passages_call_are_read_with_them(assistant):
    draft = assistant.answerer.draft("Which rights does the concept note name as the limited exceptions?")
    labels = [(h.passage.doc_id, h.passage.label) for h in draft.hits]
    calling = next(h.passage for h in draft.hits[:5] if h.passage.footnotes)
    for note in calling.footnotes:
        assert any(doc == calling.doc_id and label.endswith(note) for doc, label in labels)
