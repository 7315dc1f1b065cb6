// Builds the small BERT tokenizer test models in tests/golden/tokenizers/:
// a realistic vocabulary of ~2,000 pieces (special tokens, ASCII, common
// English words and ## pieces, accented and Greek / Cyrillic letters, CJK
// ideographs, kana, Hangul jamo, emoji, punctuation), written as vocab.txt,
// tokenizer_config.json, special_tokens_map.json and tokenizer.json. The
// tokenizer.json is serialised by Hugging Face tokenizers itself (the npm
// `tokenizers` package, Rust bindings), so its layout is the real one.
//
//   cd tests/golden && npm install --ignore-scripts && node make_test_tokenizers.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import tokenizers from 'tokenizers';

const here = path.dirname(fileURLToPath(import.meta.url));
const outRoot = path.join(here, 'tokenizers');

const vocab = [];
const seen = new Set();
const add = (piece) => {
  if (piece.length > 0 && !seen.has(piece)) { seen.add(piece); vocab.push(piece); }
};
const addWithSuffix = (piece) => { add(piece); add('##' + piece); };
const range = (first, last) => {
  const out = [];
  for (let cp = first; cp <= last; ++cp) out.push(String.fromCodePoint(cp));
  return out;
};

['[PAD]', '[unused0]', '[unused1]', '[unused2]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].forEach(add);
range(33, 126).forEach(add);
range(0x61, 0x7a).forEach((c) => add('##' + c));
range(0x41, 0x5a).forEach((c) => add('##' + c));
range(0x30, 0x39).forEach((c) => add('##' + c));

const words = `the of and to a in is it you that he was for on are with as i his they be at one
have this from or had by hot word but what some we can out other were all there when up use your how
said an each she which do their time if will way about many then them write would like so these her
long make thing see him two has look more day could go come did number sound no most people my over
know water than call first who may down side been now find any new work part take get place made live
where after back little only round man year came show every good me give our under name very through
just form sentence great think say help low line differ turn cause much mean before move right boy
old too same tell does set three want air well also play small end put home read hand port large spell
add even land here must big high such follow act why ask men change went light kind off need house
picture try us again animal point mother world near build self earth father head stand own page should
country found answer school grow study still learn plant cover food sun four between state keep eye
never last let thought city tree cross farm hard start might story saw far sea draw left late run while
press close night real life few north open seem together next white children begin got walk example
ease paper group always music those both mark often letter until mile river car feet care second book
carry took science eat room friend began idea fish mountain stop once base hear horse cut sure watch
color face wood main enough plain girl usual young ready above ever red list though feel talk bird soon
body dog family direct pose leave song measure door product black short numeral class wind question
happen complete ship area half rock order fire south problem piece told knew pass since top whole king
space heard best hour better true during hundred five remember step early hold west ground interest
reach fast verb sing listen six table travel less morning ten simple several vowel toward war lay
against pattern slow center love person money serve appear road map rain rule govern pull cold notice
voice unit power town fine certain fly fall lead cry dark machine note wait plan figure star box noun
field rest correct able pound done beauty drive stood contain front teach week final gave green oh
quick develop ocean warm free minute strong special mind behind clear tail produce fact street inch
multiply nothing course stay wheel full force blue object decide surface deep moon island foot system
busy test record boat common gold possible plane stead dry wonder laugh thousand ago ran check game
shape equate miss brought heat snow tire bring yes distant fill east paint language among hello token
tokenizer model bert attention transformer embedding encoder server fox jumps lazy dog brown quick
cafe naive resume angstrom ecole creme brulee mode strasse http https www com org example github path
query user frag nlp ok un unaffable aff able super cali fragilistic expiali docious istanbul`.split(/\s+/);
words.forEach(add);
['The', 'Hello', 'I', 'A', 'We', 'BERT', 'Paris', 'London', 'New', 'York', 'It', 'This', 'NLP', 'URL',
 'Crème', 'Café', 'École', 'Ångström', 'RÉSUMÉ', 'İstanbul'].forEach(add);
['s', 'es', 'ed', 'ing', 'ly', 'er', 'ers', 'est', 'tion', 'tions', 'ment', 'ments', 'ness', 'able',
 'ible', 'ful', 'less', 'ize', 'ise', 'al', 'ity', 'ous', 'ive', 're', 'th', 'st', 'nd', 'rd', 'ion',
 'ie', 'ed', 'ff', 'ffa', 'strom', 'ago', 'hub', 'ma', 'nge', 'sse', 'ue'].forEach((s) => add('##' + s));
const consonants = 'bcdfghklmnprstvwz'.split('');
const vowels = 'aeiou'.split('');
for (const c of consonants) for (const v of vowels) { add(c + v); add('##' + c + v); add('##' + v + c); }
for (let n = 0; n <= 100; ++n) add(String(n));
['2024', '2025', '1000', '##00', '##000', '##24', '##25'].forEach(add);
// Accented letters (for the cased / keep-accents models) and some words.
[...'éèêëàâäöüñçåøæßíóúïîôûÉÈÅÖÜÑÇØÆ'].forEach(addWithSuffix);
['café', 'naïve', 'ångström', 'résumé', 'école', 'crème', 'brûlée', 'à', 'la', 'é'].forEach(add);
// Greek (with final sigma) and Cyrillic.
range(0x3b1, 0x3c9).forEach(addWithSuffix);
range(0x391, 0x3a9).forEach(add);
['οδος', 'λογος', 'σοφια'].forEach(add);
range(0x430, 0x44f).forEach(addWithSuffix);
['привет', 'мир', 'Привет'].forEach(add);
// CJK ideographs: frequent characters plus the start of the block.
const frequentHanzi =
  '我你他她们的是不了在有人这中大为上个国和地到以说时要就出会可也对生能而子那得于着下自之年过发后作里用道行所然家种事成方多' +
  '经么去法学如都同现当没动面起看定天分还进好小部其些主样理心本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性' +
  '知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位' +
  '次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再' +
  '感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象完设' +
  '式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲';
[...frequentHanzi].forEach(add);
range(0x4e00, 0x4e40).forEach(add);
// Kana (words of kana are not split per char, so ## pieces are needed).
range(0x3041, 0x3093).forEach(addWithSuffix);
range(0x30a1, 0x30f3).forEach(addWithSuffix);
add('ー'); add('##ー');
// Hangul: syllables and the jamo NFD decomposes them into.
['한', '국', '##국', '##어', '어'].forEach(add);
range(0x1100, 0x1112).forEach(addWithSuffix);
range(0x1161, 0x1175).forEach(addWithSuffix);
range(0x11a8, 0x11c2).forEach(addWithSuffix);
// Emoji and Unicode punctuation.
['😀', '😂', '👍', '❤', '✨', '🚀', '🎉', '🔥', '##\uFE0F', '##🏽', '🙂'].forEach(add);
[...'“”‘’—–…«»¿¡。、！？（）「」·•§¶'].forEach(add);

function vocabObject() {
  const object = {};
  vocab.forEach((piece, id) => { object[piece] = id; });
  return object;
}

const variants = [
  { dir: 'bert-mini-uncased', lowercase: true, stripAccents: null },
  { dir: 'bert-mini-cased', lowercase: false, stripAccents: null },
  { dir: 'bert-mini-uncased-keep-accents', lowercase: true, stripAccents: false },
];
const id = (piece) => vocab.indexOf(piece);
for (const variant of variants) {
  const dir = path.join(outRoot, variant.dir);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'vocab.txt'), vocab.join('\n') + '\n');
  const tokenizer = new tokenizers.Tokenizer(tokenizers.WordPiece.init(vocabObject(), {
    unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100,
  }));
  const normalizerOptions = { cleanText: true, handleChineseChars: true, lowercase: variant.lowercase };
  if (variant.stripAccents !== null) normalizerOptions.stripAccents = variant.stripAccents;
  tokenizer.setNormalizer(tokenizers.bertNormalizer(normalizerOptions));
  tokenizer.setPreTokenizer(tokenizers.bertPreTokenizer());
  tokenizer.setPostProcessor(tokenizers.templateProcessing(
    '[CLS] $A [SEP]', '[CLS] $A [SEP] $B:1 [SEP]:1', [['[CLS]', id('[CLS]')], ['[SEP]', id('[SEP]')]]));
  tokenizer.setDecoder(tokenizers.wordPieceDecoder('##', true));
  tokenizer.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  tokenizer.save(path.join(dir, 'tokenizer.json'));
  const config = {
    do_lower_case: variant.lowercase,
    strip_accents: variant.stripAccents,
    tokenize_chinese_chars: true,
    model_max_length: 64,
    tokenizer_class: 'BertTokenizer',
    unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]',
    clean_up_tokenization_spaces: true,
  };
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, 'special_tokens_map.json'), JSON.stringify({
    unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]',
  }, null, 2) + '\n');
}
console.log(`wrote ${variants.length} tokenizers with ${vocab.length} pieces to ${outRoot}`);
