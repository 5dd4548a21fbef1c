int camio_test_placeholder(void){return 0;}
