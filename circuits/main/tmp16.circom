pragma circom 2.1.9;
include "../lib/batch_append.circom";
component main {public [oldRoot, newRoot, startIndex, leaves]} = BatchAppend(32, 16, 3607627140608796879659380071776844901612302623152076817094415224584923813162);
